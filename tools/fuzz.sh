#!/usr/bin/env bash
# Builds the libFuzzer targets (clang, ASan+UBSan) in build-fuzz and runs
# each for a bounded time, seeded from the golden files in formats/golden.
#
#   tools/fuzz.sh [SECONDS_PER_TARGET]     (default 30)
#
# Seeds of target X_fuzz: formats/golden/* files listed in
# tests/fuzz/X_fuzz.seeds (one glob per line). Crashes are saved in
# build-fuzz/fuzz/crashes/. Exits non-zero if any target finds a failure.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
seconds=${1:-30}
missing=()
for p in clang libclang-rt-14-dev; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""; [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
"$here/tools/setup.sh" --deps-only
CC=clang CXX=clang++ cmake -S "$here" -B "$here/build-fuzz" -DH5TX_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$here/build-fuzz" -j"$(nproc)"
out="$here/build-fuzz/fuzz"
mkdir -p "$out/crashes"
status=0
total=0
for bin in "$out"/*_fuzz; do
  [ -f "$bin" ] && [ -x "$bin" ] || continue
  name=$(basename "$bin")
  corpus="$out/corpus-$name"
  rm -rf "$corpus"; mkdir -p "$corpus"
  seeds="$here/tests/fuzz/$name.seeds"
  if [ -f "$seeds" ]; then
    while read -r glob; do
      [ -z "$glob" ] && continue
      for f in $here/formats/golden/$glob; do [ -f "$f" ] && cp "$f" "$corpus/"; done
    done < "$seeds"
  fi
  echo "== $name: $(ls "$corpus" | wc -l) seeds, ${seconds}s"
  export ASAN_OPTIONS=detect_leaks=0 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
  if ! "$bin" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
        -artifact_prefix="$out/crashes/$name-" -print_final_stats=1 "$corpus" > "$out/$name.log" 2>&1; then
    echo "FAILED: $name (see $out/$name.log)"; tail -30 "$out/$name.log"; status=1
  fi
  runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$out/$name.log" | grep -o '[0-9]*$' || echo 0)
  total=$((total + ${runs:-0}))
  echo "   executions: ${runs:-0}"
done
echo "fuzz: $total executions over all targets, status $status"
exit $status
