#!/usr/bin/env bash
# The README's main job: sets up and builds h5tx (tools/setup.sh), then runs
# `h5tx demo`: a batch ingest of a built-in synthetic volume into a new store,
# flushed and verified. Arguments are passed to `h5tx demo` (see --help).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
build_dir=$("$here/tools/setup.sh" --type Release --build-dir "$here/build-release" -- -DH5TX_BUILD_TESTS=OFF)
exec "$build_dir/bin/h5tx" demo "$@"
