#!/usr/bin/env bash
# Run every cargo fuzz target (or the ones named) for SECONDS each, one after another, on the committed corpora
# (new inputs are added to them), then minimise each corpus. A crash stops the script; libFuzzer writes the input
# under fuzz/artifacts/<target>/: fix the bug and copy the input to fuzz/regressions/<target>/, which
# `cargo test --test fuzz_corpus` replays from then on.
#
#   fuzz/run.sh 600                  # every target, 10 minutes each
#   fuzz/run.sh 60 responses config  # two targets, a minute each
#
# Needs the nightly toolchain and cargo-fuzz (`cargo install cargo-fuzz`).
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_EACH=${1:-60}
shift || true
TARGETS=("$@")
[ ${#TARGETS[@]} -gt 0 ] || TARGETS=(config responses jsonpath headers checkpoint templates)
FUZZ=(cargo +nightly fuzz)
OPTS=(--fuzz-dir fuzz --target-dir target/fuzz)

"${FUZZ[@]}" build "${OPTS[@]}"
for target in "${TARGETS[@]}"; do
    echo "== $target: $SECONDS_EACH s"
    log=target/fuzz/$target.log
    if ! "${FUZZ[@]}" run "${OPTS[@]}" "$target" "fuzz/corpus/$target" -- -max_total_time="$SECONDS_EACH" \
        -timeout=10 -rss_limit_mb=2048 -max_len=65536 -print_final_stats=1 >"$log" 2>&1; then
        tail -40 "$log" >&2
        echo "$target crashed: the input is under fuzz/artifacts/$target (log: $log)" >&2
        exit 1
    fi
    grep -aE '^(#[0-9]+[[:space:]]+DONE|stat::number_of_executed_units|stat::peak_rss_mb)' "$log" || true
    "${FUZZ[@]}" cmin "${OPTS[@]}" "$target" "fuzz/corpus/$target" >/dev/null 2>&1
    echo "$target corpus: $(ls "fuzz/corpus/$target" | wc -l) inputs"
done
