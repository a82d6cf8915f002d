#!/usr/bin/env bash
# Where the time of benchmark rows goes: runs single rows of h5tx-bench
# (in child mode, one process) under `strace -f -c -w` (wall time and count
# of every system call) and, if perf works here, `perf record -e cpu-clock`
# (CPU profile by library and symbol). Used for docs/performance.md.
#
#   tools/bench/profile.sh [--build-dir DIR] [ROW ...] [-- h5tx-bench size options]
#
# ROW defaults to the h5tx rows and their closest baselines. Output goes to
# DIR/bench-profile/<row>.{strace,perf.txt}; a summary is printed.
set -euo pipefail

here=$(cd "$(dirname "$0")/../.." && pwd)
build_dir="$here/build-bench"
rows=()
sizes=()
while [ $# -gt 0 ]; do
  case "$1" in
    --build-dir) build_dir=$2; shift 2 ;;
    --) shift; sizes=("$@"); break ;;
    -h|--help) sed -n '2,11p' "$0"; exit 0 ;;
    *) rows+=("$1"); shift ;;
  esac
done
[ ${#rows[@]} -gt 0 ] || rows=(W1/raw W1/plain W1/h5tx-redo W1/h5tx-undo W2/raw W2/h5tx-redo
                               W4/plain W4/undo-driver W4/h5tx-undo W5/plain W5/undo-driver W5/h5tx-undo)
bench="$build_dir/bin/h5tx-bench"
[ -x "$bench" ] || { echo "profile.sh: no $bench; run tools/bench/run.sh or build h5tx_bench first" >&2; exit 1; }
command -v strace >/dev/null || { echo "profile.sh: needs strace (apt-get install strace)" >&2; exit 1; }
have_perf=0
if command -v perf >/dev/null && perf record -q -e cpu-clock -o /dev/null true 2>/dev/null; then have_perf=1; fi

out="$build_dir/bench-profile"
scratch="$build_dir/bench-profile-scratch"
mkdir -p "$out"
trap 'rm -rf "$scratch"' EXIT
for row in "${rows[@]}"; do
  name=${row//\//_}
  name=${name//+/_}
  rm -rf "$scratch"; mkdir -p "$scratch"
  strace -f -c -w -o "$out/$name.strace" "$bench" --child "$row" --child-dir "$scratch" \
    --child-out "$out/$name.result" ${sizes[@]+"${sizes[@]}"}
  if [ $have_perf = 1 ]; then
    rm -rf "$scratch"; mkdir -p "$scratch"
    perf record -q -e cpu-clock -F 2000 -g -o "$out/$name.perf" "$bench" --child "$row" \
      --child-dir "$scratch" --child-out /dev/null ${sizes[@]+"${sizes[@]}"} 2>/dev/null
    { perf report -i "$out/$name.perf" --no-children --sort dso --stdio -g none 2>/dev/null | grep -E '^ +[0-9]' | head -6
      perf report -i "$out/$name.perf" --no-children --sort symbol --stdio -g none 2>/dev/null | grep -E '^ +[0-9]' | head -12
    } > "$out/$name.perf.txt" || true  # head closes the pipes early
    rm -f "$out/$name.perf"
  fi
  tx=$(awk '$2=="tx"{print $3}' "$out/$name.result")
  echo "== $row: $(grep -E '^metric (tx_per_s|mib_per_s|seconds) ' "$out/$name.result" | awk '{printf "%s=%.4g ", $2, $3}')"
  awk -v tx="${tx:-1}" 'NR>2 && $1 ~ /^[0-9.]+$/ && $NF != "total" {
       calls=$4; if ($5 ~ /^[0-9]+$/) sys=$6; else sys=$5;
       if (sys ~ /^(fsync|fdatasync|pwrite64|pread64|openat|mkdir|rmdir|rename|unlink|ftruncate)$/)
         printf "   %-10s %8.1f per tx  %6.1f%% of syscall wall time\n", sys, calls/tx, $1 }' "$out/$name.strace"
  if [ $have_perf = 1 ]; then sed 's/^/   cpu: /' "$out/$name.perf.txt" | head -4 || true; fi
done
echo "profile.sh: details in $out" >&2
