#!/bin/sh
# Readability.js and trafilatura over the extraction sets, scored with the same score.py as
# scripts/extract_bench.sh, for docs/extraction.md. Both are installed outside the repository
# (npm and pip, from the package registries, into PEERS_DIR) on the first run; everything after
# that reads local files only. The news sets are the ones extract_bench.sh builds in OUT_DIR.
# Usage: scripts/extract_peers.sh [--holdout] [BENCH_DIR] [OUT_DIR]
#        PEERS_DIR (default /tmp/feedwatch-peers) holds node_modules and a Python venv.
set -eu
SETS="zyte wcxb-dev news-dev"
if [ "${1:-}" = "--holdout" ]; then
    SETS="$SETS news-holdout"
    shift
fi
BENCH=${1:-../shared/bench/extraction}
OUT=${2:-target/extract-bench}
PEERS=${PEERS_DIR:-/tmp/feedwatch-peers}
HERE=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$PEERS" "$OUT"
if [ ! -d "$PEERS/node_modules/@mozilla/readability" ]; then
    (cd "$PEERS" && npm init -y >/dev/null && npm install --no-audit --no-fund @mozilla/readability jsdom >/dev/null)
fi
if [ ! -x "$PEERS/venv/bin/python" ]; then
    python3 -m venv "$PEERS/venv"
    "$PEERS/venv/bin/pip" install --quiet trafilatura lxml_html_clean
fi
python3 "$HERE/make_news_set.py" "$BENCH" "$OUT" >/dev/null
for set in $SETS; do
    case $set in
        news-*) dir="$OUT/$set" ;;
        *) dir="$BENCH/$set" ;;
    esac
    echo "== $set"
    NODE_PATH="$PEERS/node_modules" node "$HERE/peer_readability.mjs" "$dir" "$OUT/$set.readability.jsonl"
    python3 "$BENCH/score.py" "$dir" "$OUT/$set.readability.jsonl"
    "$PEERS/venv/bin/python" "$HERE/peer_trafilatura.py" "$dir" "$OUT/$set.trafilatura.jsonl"
    python3 "$BENCH/score.py" "$dir" "$OUT/$set.trafilatura.jsonl"
done
