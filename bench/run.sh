#!/usr/bin/env bash
# Extraction benchmark, on one machine and the same pages: the host + component, curl over the same URLs (the
# client-side floor), the engine compiled natively on the same bodies, and dlt 1.31 when BENCH_DLT=1 (installed
# into a throwaway venv under target/). Then the per-tenant figures: instantiate latency, guest memory
# high-water, and TENANTS tenants running at once.
#
#   bench/run.sh                 # 100,000 rows in 1,000 pages of 100
#   ROWS=1000000 bench/run.sh    # 1,000,000 rows
#   BENCH_DLT=1 bench/run.sh     # also dlt (pip install dlt==1.31.0; needs PyPI)
#   TENANTS=100 bench/run.sh     # fewer tenants at once (default 1,000, each 1,000 rows in 10 pages)
#
# The extraction runs against small rows (plain and gzipped by the API), against realistic rows (about 400 bytes:
# nested objects and lists, full-precision doubles, big integers, unicode, escapes) served as fast as the API can,
# and against an API with real latency (LATENCY_MS per answer, answered concurrently; 100 pages), serially and
# with the resource `parallelized` (client.concurrency at its default, 8), dlt with both configs.
#
# Each figure is the client process only (/usr/bin/time: wall, user+sys CPU, max RSS); the demo API runs in its
# own process. Results are printed as a table; BENCHMARKS.md records them with the machine.
set -euo pipefail
cd "$(dirname "$0")/.."

ROWS=${ROWS:-100000}
LATENCY_MS=${LATENCY_MS:-20}
TENANTS=${TENANTS:-1000}
PORT=${PORT:-18181}
PAGE=100
TMP=$(mktemp -d)
HOST=target/release/host-test
SEED=seeds/000_d0cafc2d376f2708.txt

cargo build --release -q -p host-test
$HOST demo-api --port "$PORT" --rows "$ROWS" >/dev/null &
API=$!
$HOST demo-api --port $((PORT + 1)) --rows 0 >/dev/null &
EMPTY=$!
$HOST demo-api --port $((PORT + 2)) --rows 1000 >/dev/null &
SMALL=$!
$HOST demo-api --port $((PORT + 3)) --rows "$ROWS" --gzip >/dev/null &
GZIP=$!
$HOST demo-api --port $((PORT + 4)) --rows "$ROWS" --realistic >/dev/null &
REAL=$!
$HOST demo-api --port $((PORT + 5)) --rows $((100 * PAGE)) --realistic --latency-ms "$LATENCY_MS" >/dev/null &
SLOW=$!
trap 'kill $API $EMPTY $SMALL $GZIP $REAL $SLOW 2>/dev/null; rm -rf "$TMP"' EXIT
for _ in $(seq 100); do
    curl -sf "http://127.0.0.1:$PORT/v1/resource?limit=1&api_key=demo-api-key" >/dev/null && break
    sleep 0.1
done

# curl_cfg ROWS PORT: the URLs the connector requests, for curl over one keep-alive connection.
curl_cfg() {
    python3 - "$1" "$PAGE" "$2" <<'PY'
import sys
rows, page, port = map(int, sys.argv[1:])
for offset in range(0, max(rows, 1), page):
    print(f'url = "http://127.0.0.1:{port}/v1/resource?offset={offset}&limit={page}&api_key=demo-api-key"')
    print('output = "/dev/null"')
PY
}
# The API caches each page it served; one pass first, so every measured run meets the same warm API.
for port in "$PORT" $((PORT + 3)) $((PORT + 4)) $((PORT + 5)); do
    curl_cfg "$(( port == PORT + 5 ? 100 * PAGE : ROWS ))" "$port" >"$TMP/warm.cfg"
    curl -s --compressed -K "$TMP/warm.cfg" >/dev/null
    curl -s -K "$TMP/warm.cfg" >/dev/null
done

$HOST seed-config "$SEED" >"$TMP/config.json"
# The same config with the resource `parallelized` (client.concurrency at its default, 8).
python3 -c 'import json,sys; c=json.load(open(sys.argv[1])); c["resources"][0]["parallelized"]=True; print(json.dumps(c))' \
    "$TMP/config.json" >"$TMP/config-par.json"
echo '{"api_key": "demo-api-key"}' >"$TMP/secrets.json"
# Builds the component if needed and fills the compile cache, so every run below starts warm.
$HOST check --config "$TMP/config.json" --secrets "$TMP/secrets.json" >/dev/null

# measure NAME ROWS CMD...: one line of figures.
measure() {
    local name=$1 rows=$2
    shift 2
    /usr/bin/time -f "%e %U %S %M" -o "$TMP/time" "$@" >"$TMP/stdout" 2>"$TMP/err" || {
        cat "$TMP/err" >&2
        return 1
    }
    read -r wall user sys rss <"$TMP/time"
    python3 - "$name" "$rows" "$wall" "$user" "$sys" "$rss" <<'PY'
import sys
name, rows, wall, user, sys_, rss = sys.argv[1], int(sys.argv[2]), *map(float, sys.argv[3:])
cpu = user + sys_
per = cpu / rows * 100_000 if rows else 0
rate = rows / wall if wall else 0
print(f"{name:<28} {wall:>7.2f} s {cpu:>7.2f} s {per:>9.3f} s {rss / 1024:>7.1f} MB {rate:>11,.0f}")
PY
}

echo "rows: $ROWS in pages of $PAGE; $(nproc) cores; $(uname -m)"
printf '%-28s %9s %9s %11s %10s %11s\n' "" wall "cpu(u+s)" "cpu/100k" "max rss" "rows/s"
run() {
    measure "$1" "$2" $HOST run --config "${4:-$TMP/config.json}" --secrets "$TMP/secrets.json" \
        --out "$TMP/out-$RANDOM" --connect-to "https://api.example.com=http://127.0.0.1:$3"
}
for i in 1 2 3; do run "host-test run (jsonl) #$i" "$ROWS" "$PORT"; done
sed -n 's/.*guest memory peak/guest memory peak:/p' "$TMP/stdout"   # the last run's totals line
# The same pages gzip-compressed by the API (decoded by the host as the guest reads them).
for i in 1 2 3; do run "host-test run, gzip #$i" "$ROWS" $((PORT + 3)); done
measure "host-test run (sqlite)" "$ROWS" $HOST run --config "$TMP/config.json" --secrets "$TMP/secrets.json" \
    --db "$TMP/bench.db" --connect-to "https://api.example.com=http://127.0.0.1:$PORT"
run "host-test zero-row run" 0 $((PORT + 1))
# The zero-row run again, 20 times, for a figure finer than /usr/bin/time's 10 ms.
start=$(date +%s%N)
for _ in $(seq 20); do
    $HOST run --config "$TMP/config.json" --secrets "$TMP/secrets.json" --out "$TMP/out-zero" \
        --connect-to "https://api.example.com=http://127.0.0.1:$((PORT + 1))" >/dev/null
done
echo "zero-row run, whole process, mean of 20: $(( ($(date +%s%N) - start) / 20000 )) µs"

curl_cfg "$ROWS" "$PORT" >"$TMP/curl.cfg"
for i in 1 2 3; do measure "curl, one connection #$i" "$ROWS" curl -s -K "$TMP/curl.cfg"; done
sed "s/:$PORT\//:$((PORT + 3))\//" "$TMP/curl.cfg" >"$TMP/curl-gzip.cfg"
for i in 1 2 3; do measure "curl --compressed #$i" "$ROWS" curl -s --compressed -K "$TMP/curl-gzip.cfg"; done
plain=$(curl -s "http://127.0.0.1:$PORT/v1/resource?offset=0&limit=$PAGE&api_key=demo-api-key" | wc -c)
packed=$(curl -s -H 'Accept-Encoding: gzip' "http://127.0.0.1:$((PORT + 3))/v1/resource?offset=0&limit=$PAGE&api_key=demo-api-key" | wc -c)
echo "one page: $plain bytes, $packed gzipped"

# Realistic rows, as fast as the API serves them: the connector, curl, and (below) dlt on the same pages.
echo "realistic rows: $(curl -s "http://127.0.0.1:$((PORT + 4))/v1/resource?offset=0&limit=$PAGE&api_key=demo-api-key" | wc -c) bytes a page"
for i in 1 2 3; do run "host-test run, realistic #$i" "$ROWS" $((PORT + 4)); done
measure "host-test run, realistic sqlite" "$ROWS" $HOST run --config "$TMP/config.json" \
    --secrets "$TMP/secrets.json" --db "$TMP/real.db" --connect-to "https://api.example.com=http://127.0.0.1:$((PORT + 4))"
curl_cfg "$ROWS" $((PORT + 4)) >"$TMP/curl-real.cfg"
for i in 1 2 3; do measure "curl, realistic #$i" "$ROWS" curl -s -K "$TMP/curl-real.cfg"; done

# An API with latency: 100 pages, each answered after LATENCY_MS; serial, then `parallelized`.
for i in 1 2; do run "host-test run, ${LATENCY_MS} ms #$i" $((100 * PAGE)) $((PORT + 5)); done
for i in 1 2 3; do
    run "host-test parallelized, ${LATENCY_MS} ms #$i" $((100 * PAGE)) $((PORT + 5)) "$TMP/config-par.json"
done
curl_cfg $((100 * PAGE)) $((PORT + 5)) >"$TMP/curl-slow.cfg"
measure "curl, ${LATENCY_MS} ms latency" $((100 * PAGE)) curl -s -K "$TMP/curl-slow.cfg"

if [ "${BENCH_DLT:-0}" = 1 ]; then
    VENV=target/bench-venv
    [ -x "$VENV/bin/python" ] || { python3 -m venv "$VENV" && "$VENV/bin/pip" install -q dlt==1.31.0; }
    cat >"$TMP/dlt_extract.py" <<PY
import sys
import dlt
from dlt.sources.rest_api import rest_api_source
parallelized = len(sys.argv) > 2
source = rest_api_source({
    "client": {"base_url": "http://127.0.0.1:" + sys.argv[1],
               "auth": {"type": "api_key", "name": "api_key", "api_key": "demo-api-key", "location": "query"}},
    "resource_defaults": {"primary_key": "id", "write_disposition": "merge"},
    "resources": [{"name": "resource_name", "parallelized": parallelized,
                   "endpoint": {"path": "/v1/resource", "data_selector": "data",
                                "paginator": {"type": "offset", "limit": $PAGE}}}],
})
pipeline = dlt.pipeline(pipeline_name="bench", destination="duckdb", pipelines_dir="$TMP/dlt")
pipeline.extract(source)
PY
    for i in 1 2; do measure "dlt 1.31 extract #$i" "$ROWS" "$VENV/bin/python" "$TMP/dlt_extract.py" "$PORT"; done
    for i in 1 2; do
        measure "dlt 1.31, realistic #$i" "$ROWS" "$VENV/bin/python" "$TMP/dlt_extract.py" $((PORT + 4))
    done
    measure "dlt 1.31, ${LATENCY_MS} ms latency" $((100 * PAGE)) "$VENV/bin/python" "$TMP/dlt_extract.py" $((PORT + 5))
    measure "dlt 1.31 parallelized, ${LATENCY_MS} ms" $((100 * PAGE)) "$VENV/bin/python" "$TMP/dlt_extract.py" \
        $((PORT + 5)) parallelized
fi

# The engine alone, natively, on the same bodies from memory (single-threaded: its wall time is its CPU time).
cargo bench -q --bench engine -- "$ROWS" 2>/dev/null | grep '^native engine'

# Per tenant: instantiate (pooled, pre-instantiated, precompiled) and instantiate + configure.
cargo bench -q -p host-test --bench instantiate 2>/dev/null | grep -E '^instantiate'

# TENANTS tenants at once (run-all: pooling allocator, one task each), each seed 000 over 1,000 rows.
mkdir -p "$TMP/tenants"
for i in $(seq "$TENANTS"); do
    cat >"$TMP/tenants/t$i.toml" <<TOML
plugin = "$PWD/target/wasm32-wasip2/component/rest_api_source.wasm"
config = "../config.json"
out = "../fleet/t$i"
[secrets]
file = "../secrets.json"
[egress]
connect_to = { "https://api.example.com" = "http://127.0.0.1:$((PORT + 2))" }
TOML
done
measure "$TENANTS tenants at once" $((TENANTS * 1000)) $HOST run-all "$TMP/tenants"
echo "rows the tenants wrote: $(cat "$TMP"/fleet/*/*.jsonl | wc -l) (expected $((TENANTS * 1000)))"

size=$(stat -c %s target/wasm32-wasip2/component/rest_api_source.wasm)
echo "release component: $size bytes"
