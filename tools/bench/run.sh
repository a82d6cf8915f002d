#!/usr/bin/env bash
# Builds h5tx in Release (through tools/setup.sh) and runs the whole
# benchmark table; writes Markdown and JSON and prints the Markdown.
#
#   tools/bench/run.sh [--build-dir DIR] [--out DIR] [h5tx-bench options, e.g. --quick]
#
# Defaults: build in build-bench/, results in DIR/bench-results/{bench.md,bench.json},
# scratch files in DIR/bench-scratch/ (removed afterwards). The full table
# needs about 12 GB of free disk (the 4 GiB flusher backlog and the 4 GiB
# SCALE ingest: input, journal and data file) and takes about 10 minutes here.
# Issue 13 sizes: --i1-mib 2048 for the 2 GiB ingest, --scale-large-mib 8192
# (about 24 GB of disk). Plot the SCALE series with tools/bench/plot.py.
set -euo pipefail

here=$(cd "$(dirname "$0")/../.." && pwd)
build_dir="$here/build-bench"
out=""
args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --build-dir) build_dir=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    -h|--help) sed -n '2,10p' "$0"; exit 0 ;;
    *) args+=("$1"); shift ;;
  esac
done
[ -n "$out" ] || out="$build_dir/bench-results"

build_dir=$("$here/tools/setup.sh" --type Release --build-dir "$build_dir" | tail -1)
mkdir -p "$out"
scratch="$build_dir/bench-scratch"
trap 'rm -rf "$scratch"' EXIT
"$build_dir/bin/h5tx-bench" --dir "$scratch" --md "$out/bench.md" --json "$out/bench.json" ${args[@]+"${args[@]}"}
cat "$out/bench.md"
echo "run.sh: wrote $out/bench.md and $out/bench.json" >&2
