#!/bin/sh
# Extraction benchmark over the shared sets: speed, peak memory and F1 (score.py), ours beside
# dom_smoothie in the same run. Usage: scripts/extract_bench.sh [BENCH_DIR] [OUT_DIR]
set -eu
BENCH=${1:-../shared/bench/extraction}
OUT=${2:-target/extract-bench}
mkdir -p "$OUT"
for set in zyte wcxb-dev; do
    echo "== $set"
    cargo bench --quiet --features bench-dom-smoothie --bench extract -- "$BENCH/$set" "$OUT/$set.jsonl"
    echo "-- feedwatch"
    python3 "$BENCH/score.py" "$BENCH/$set" "$OUT/$set.jsonl"
    echo "-- dom_smoothie"
    python3 "$BENCH/score.py" "$BENCH/$set" "$OUT/$set.dom_smoothie.jsonl"
done
