#!/usr/bin/env bash
# Sets up (tools/setup.sh), builds and runs the whole h5tx test suite with CTest.
#
#   tools/test.sh [--sanitize address,undefined|thread] [extra ctest arguments]
#
# With --sanitize the suite is built in build-<sanitizer> with those sanitizers.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
setup_args=()
build_dir="$here/build"
if [ "${1:-}" = "--sanitize" ]; then
  build_dir="$here/build-${2//,/-}"
  setup_args=(--sanitize "$2" --build-dir "$build_dir" --type Debug)
  shift 2
fi
"$here/tools/setup.sh" "${setup_args[@]}" --build-dir "$build_dir" >/dev/null

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export TSAN_OPTIONS=${TSAN_OPTIONS:-"halt_on_error=1 second_deadlock_stack=1 suppressions=$here/tests/tsan.supp"}
export LSAN_OPTIONS=${LSAN_OPTIONS:-"suppressions=$here/tests/lsan.supp"}
cd "$build_dir"
ctest --output-on-failure -j"$(nproc)" "$@"
