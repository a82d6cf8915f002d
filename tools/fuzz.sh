#!/usr/bin/env bash
# Builds the libFuzzer targets (clang, ASan+UBSan) in build-fuzz and runs
# each for a bounded time, seeded from the golden files in formats/golden.
#
#   tools/fuzz.sh [SECONDS_PER_TARGET]     (default 30)
#
# Seeds of target X_fuzz: formats/golden/* files listed in
# tests/fuzz/X_fuzz.seeds (one glob per line). Extra libFuzzer flags of a
# target, if any: tests/fuzz/X_fuzz.flags (one line; given after the
# defaults, so they win). Crashes are saved in build-fuzz/fuzz/crashes/.
# Inputs of tests/fuzz/regressions/X_fuzz/ are added to the seeds.
# Exits non-zero if any target finds a failure, except a target listed with
# its reason in tests/fuzz/known-failing (a finding there is reported, as
# KNOWN, and does not fail the run: for a target written ahead of the fix of
# the bugs it finds; remove the line when they are fixed).
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
  # Inputs that once failed (tests/fuzz/regressions/<target>/) run first, as
  # seeds, unless the target's findings are still known (they would all fail).
  known=$(grep -E "^$name[[:space:]]" "$here/tests/fuzz/known-failing" 2>/dev/null | cut -d' ' -f2- || true)
  if [ -z "$known" ] && [ -d "$here/tests/fuzz/regressions/$name" ]; then
    cp "$here/tests/fuzz/regressions/$name"/* "$corpus/" 2>/dev/null || true
  fi
  extra=()
  if [ -f "$here/tests/fuzz/$name.flags" ]; then read -r -a extra < "$here/tests/fuzz/$name.flags" || true; fi
  echo "== $name: $(ls "$corpus" | wc -l) seeds, ${seconds}s ${extra[*]}"
  export ASAN_OPTIONS=detect_leaks=0 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
  if ! "$bin" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 "${extra[@]}" \
        -artifact_prefix="$out/crashes/$name-" -print_final_stats=1 "$corpus" > "$out/$name.log" 2>&1; then
    if [ -n "$known" ]; then
      echo "KNOWN: $name found a failure, expected until fixed: $known (see $out/$name.log)"
      grep -a -m1 -A8 '^==' "$out/$name.log" || true
    else
      echo "FAILED: $name (see $out/$name.log)"; tail -30 "$out/$name.log"; status=1
    fi
  fi
  runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$out/$name.log" | grep -o '[0-9]*$' || echo 0)
  total=$((total + ${runs:-0}))
  echo "   executions: ${runs:-0}"
done
echo "fuzz: $total executions over all targets, status $status"
exit $status
