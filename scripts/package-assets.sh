#!/usr/bin/env bash
# Writes what the .deb carries besides the binary: the man page and shell completions, generated
# from the CLI itself (target/assets/), from the release binary. Then `cargo deb --no-build`.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${FEEDWATCH_BIN:-target/release/feedwatch}
mkdir -p target/assets
"$bin" man | gzip -9n >target/assets/feedwatch.1.gz
"$bin" completions bash >target/assets/feedwatch.bash
"$bin" completions zsh >target/assets/_feedwatch
"$bin" completions fish >target/assets/feedwatch.fish
