#!/usr/bin/env bash
# PostgreSQL benchmarks, on one machine: one run of ROWS realistic rows into JSON Lines and into PostgreSQL (a
# fresh schema each time; appending, and merging on the primary key as seed 000 does, then merging again), then the queue: TENANTS tenants of TENANT_ROWS realistic rows each, run by 1 worker
# and by 3 workers (each --concurrency 2), from submit until every run is completed.
#
#   bench/postgres.sh                       # 100,000 rows; 30 tenants of 10,000
#   ROWS=1000000 bench/postgres.sh
#
# DATABASE_URL (default postgres://root@127.0.0.1:5432/test) names the cluster; the bench works in a database of
# its own and drops it after. Wall times are the client's; PostgreSQL's own CPU is on the same cores.
set -euo pipefail
cd "$(dirname "$0")/.."

ROWS=${ROWS:-100000}
TENANTS=${TENANTS:-30}
TENANT_ROWS=${TENANT_ROWS:-10000}
PORT=${PORT:-18281}
BASE=${DATABASE_URL:-postgres://root@127.0.0.1:5432/test}
DB=pgbench_$$
URL="${BASE%/*}/$DB"
TMP=$(mktemp -d)
HOST=target/release/host-test

cargo build --release -q -p host-test
psql -q "$BASE" -c "CREATE DATABASE $DB"
$HOST demo-api --port "$PORT" --rows "$ROWS" --realistic >/dev/null &
API=$!
$HOST demo-api --port $((PORT + 1)) --rows "$TENANT_ROWS" --realistic >/dev/null &
API2=$!
trap 'kill $API $API2 2>/dev/null; rm -rf "$TMP"; psql -q "$BASE" -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)"' EXIT
for _ in $(seq 100); do
    curl -sf "http://127.0.0.1:$PORT/v1/resource?limit=1&api_key=demo-api-key" >/dev/null && break
    sleep 0.1
done
$HOST seed-config seeds/000_d0cafc2d376f2708.txt >"$TMP/config.json"
# The same config appending (seed 000 merges on the primary key).
python3 -c 'import json,sys; c=json.load(open(sys.argv[1])); c["resource_defaults"]["write_disposition"]="append"; print(json.dumps(c))' \
    "$TMP/config.json" >"$TMP/config-append.json"
echo '{"api_key": "demo-api-key"}' >"$TMP/secrets.json"
common=(--secrets "$TMP/secrets.json" --connect-to "https://api.example.com=http://127.0.0.1:$PORT")
# A first run warms the API's page cache and the compile cache.
$HOST run --config "$TMP/config.json" "${common[@]}" --out "$TMP/warm" >/dev/null

measure() {
    local name=$1
    shift
    /usr/bin/time -f "%e %U %S %M" -o "$TMP/time" "$@" >"$TMP/stdout" 2>"$TMP/err" || {
        cat "$TMP/err" >&2
        return 1
    }
    read -r wall user sys rss <"$TMP/time"
    printf '%-34s %7.2f s wall %7.2f s cpu %7.1f MB  %9.0f rows/s\n' "$name" "$wall" "$(echo "$user + $sys" | bc)" \
        "$(echo "$rss / 1024" | bc -l)" "$(echo "$ROWS / $wall" | bc -l)"
}

echo "$ROWS realistic rows, $(nproc) cores; $(psql -tA "$BASE" -c 'SHOW server_version')"
for i in 1 2 3; do measure "run --out (jsonl) #$i" $HOST run --config "$TMP/config.json" "${common[@]}" --out "$TMP/out-$i"; done
for i in 1 2 3; do
    measure "run --postgres, append #$i" $HOST run --config "$TMP/config-append.json" "${common[@]}" --postgres "$URL" --schema "append_$i"
done
for i in 1 2 3; do
    measure "run --postgres, merge #$i" $HOST run --config "$TMP/config.json" "${common[@]}" --postgres "$URL" --schema "merge_$i"
done
measure "run --postgres, merge again" $HOST run --config "$TMP/config.json" "${common[@]}" --postgres "$URL" --schema merge_1
psql -tA "$URL" -c "SELECT 'rows in append_1 and merge_1: ' || (SELECT count(*) FROM append_1.resource_name) || ', ' || (SELECT count(*) FROM merge_1.resource_name)"

# The queue: TENANTS tenant files, submitted, then 1 or 3 workers until idle.
queue_round() {
    local workers=$1 round=$2
    for i in $(seq -w 1 "$TENANTS"); do
        cat >"$TMP/t$i.toml" <<TOML
name = "t$i"
config = "config.json"
postgres = { url = "$URL", schema = "q${round}_t$i" }
[secrets]
file = "secrets.json"
[egress]
allow_private = ["127.0.0.0/8"]
connect_to = { "https://api.example.com" = "http://127.0.0.1:$((PORT + 1))" }
TOML
    done
    $HOST submit --queue "$URL" "$TMP"/t*.toml >/dev/null
    local start
    start=$(date +%s.%N)
    for w in $(seq "$workers"); do
        $HOST worker --queue "$URL" --until-idle --concurrency 2 --name "w$w" 2>/dev/null &
    done
    wait $(jobs -p | grep -v -e "^$API\$" -e "^$API2\$")
    local wall
    wall=$(echo "$(date +%s.%N) - $start" | bc)
    local done_runs
    done_runs=$(psql -tA "$URL" -c "SELECT count(*) FROM rest_source_queue.runs WHERE status = 'completed'")
    printf '%s worker(s) x 2: %s tenants x %s rows: %6.2f s, %8.0f rows/s (%s runs completed in all)\n' \
        "$workers" "$TENANTS" "$TENANT_ROWS" "$wall" "$(echo "$TENANTS * $TENANT_ROWS / $wall" | bc -l)" "$done_runs"
}
queue_round 1 a
queue_round 3 b
queue_round 1 c
queue_round 3 d

cargo bench -q -p host-test --bench claims
