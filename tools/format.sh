#!/usr/bin/env bash
# Formats the C++ sources with the project's .clang-format (clang-format 14):
#   tools/format.sh           rewrite the files in place
#   tools/format.sh --check   list the files that differ; exit 1 if any
# The files: src/, include/, tools/, tests/, python/ (*.cpp, *.hpp, *.h).
set -euo pipefail
cd "$(dirname "$0")/.."
mapfile -t files < <(git ls-files 'src/*.cpp' 'src/*.hpp' 'include/*.hpp' 'include/*.h' \
  'tools/*.cpp' 'tools/*.hpp' 'tests/*.cpp' 'tests/*.hpp' 'python/*.cpp')
if [ "${1:-}" = "--check" ]; then
  bad=0
  for f in "${files[@]}"; do
    if ! clang-format --dry-run -Werror "$f" >/dev/null 2>&1; then
      echo "not formatted: $f (run tools/format.sh)"
      bad=1
    fi
  done
  exit $bad
fi
clang-format -i "${files[@]}"
