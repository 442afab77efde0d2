#!/usr/bin/env bash
# client.rate_limit against an API that enforces its own limit: the demo API answers 429 (with Retry-After) past
# 12 requests in any second. Runs of PAGES pages of 100 realistic rows, with and without a rate limit below the
# API's, against the API on loopback and with LATENCY_MS of latency per answer. For each: wall time, the 429s the
# API answered (each one a retry the connector logged), and the ideal, pages ÷ rate.
#
#   bench/rate_limit.sh                 # 50 pages, 50 ms latency
#   PAGES=100 LATENCY_MS=200 bench/rate_limit.sh
set -euo pipefail
cd "$(dirname "$0")/.."

PAGES=${PAGES:-50}
LATENCY_MS=${LATENCY_MS:-50}
PORT=${PORT:-18291}
TMP=$(mktemp -d)
HOST=target/release/host-test

cargo build --release -q -p host-test
$HOST demo-api --port "$PORT" --rows $((PAGES * 100)) --realistic --rate-limit 12 >/dev/null &
FAST=$!
$HOST demo-api --port $((PORT + 1)) --rows $((PAGES * 100)) --realistic --rate-limit 12 --latency-ms "$LATENCY_MS" >/dev/null &
SLOW=$!
trap 'kill $FAST $SLOW 2>/dev/null; rm -rf "$TMP"' EXIT
for port in "$PORT" $((PORT + 1)); do
    for _ in $(seq 100); do
        curl -sf "http://127.0.0.1:$port/v1/resource?limit=1&api_key=demo-api-key" >/dev/null && break
        sleep 0.1
    done
done
sleep 1.1 # the probes leave the API's window
$HOST seed-config seeds/000_d0cafc2d376f2708.txt >"$TMP/config.json"
echo '{"api_key": "demo-api-key"}' >"$TMP/secrets.json"

# Seed 000 with client.rate_limit set to $1 (JSON, or "none").
config_with() {
    python3 -c 'import json,sys; c=json.load(open(sys.argv[1])); l=json.loads(sys.argv[2]); c["client"].update({} if l is None else {"rate_limit": l}); print(json.dumps(c))' \
        "$TMP/config.json" "$1"
}

measure() {
    local name=$1 limit=$2 port=$3 ideal=$4
    config_with "$limit" >"$TMP/run.json"
    local start wall
    start=$(date +%s.%N)
    $HOST run --config "$TMP/run.json" --secrets "$TMP/secrets.json" --out "$TMP/out" \
        --connect-to "https://api.example.com=http://127.0.0.1:$port" >"$TMP/stdout" 2>"$TMP/err"
    wall=$(echo "$(date +%s.%N) - $start" | bc)
    local refused
    refused=$(grep -c 'status 429' "$TMP/err" || true)
    if [ "$ideal" = "-" ]; then
        printf '%-44s %6.2f s  %3s x 429\n' "$name" "$wall" "$refused"
    else
        printf '%-44s %6.2f s  %3s x 429  ideal %5.2f s  (%+.1f%%)\n' "$name" "$wall" "$refused" "$ideal" \
            "$(echo "($wall - $ideal) * 100 / $ideal" | bc -l)"
    fi
    rm -rf "$TMP/out"
    sleep 1.1
}

echo "$PAGES pages of 100 realistic rows; the API answers 429 past 12 requests in any second"
for api in "loopback $PORT" "${LATENCY_MS} ms latency $((PORT + 1))"; do
    port=${api##* }
    where=${api% *}
    measure "$where, no rate_limit" null "$port" -
    measure "$where, 10 per 1 s" '{"requests": 10, "per_seconds": 1}' "$port" "$(echo "$PAGES / 10" | bc -l)"
    measure "$where, 5 per 0.5 s" '{"requests": 5, "per_seconds": 0.5}' "$port" "$(echo "$PAGES / 10" | bc -l)"
    measure "$where, 1 per 0.1 s" '{"requests": 1, "per_seconds": 0.1}' "$port" "$(echo "$PAGES / 10" | bc -l)"
done
