#!/bin/sh
# Extraction benchmark over every development set: speed, peak memory and F1 (score.py), ours
# beside dom_smoothie in the same run. The news sets are built by scripts/make_news_set.py;
# news-holdout is scored only with --holdout, for a closing report.
# Usage: scripts/extract_bench.sh [--holdout] [BENCH_DIR] [OUT_DIR] [-- --without RULE ...]
set -eu
SETS="zyte wcxb-dev news-dev"
if [ "${1:-}" = "--holdout" ]; then
    SETS="$SETS news-holdout"
    shift
fi
BENCH=${1:-../shared/bench/extraction}
OUT=${2:-target/extract-bench}
[ $# -ge 2 ] && shift 2 || shift $#
[ "${1:-}" = "--" ] && shift
mkdir -p "$OUT"
python3 scripts/make_news_set.py "$BENCH" "$OUT" >/dev/null
for set in $SETS; do
    case $set in
        news-*) dir="$OUT/$set" ;;
        *) dir="$BENCH/$set" ;;
    esac
    echo "== $set"
    cargo bench --quiet --features bench-dom-smoothie --bench extract -- "$dir" "$OUT/$set.jsonl" "$@"
    echo "-- feedwatch"
    python3 "$BENCH/score.py" "$dir" "$OUT/$set.jsonl"
    echo "-- dom_smoothie"
    python3 "$BENCH/score.py" "$dir" "$OUT/$set.dom_smoothie.jsonl"
done
