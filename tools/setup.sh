#!/usr/bin/env bash
# Installs the Debian packages h5tx needs (only those missing; runs
# apt-get update first), then configures and builds h5tx.
#
#   tools/setup.sh [--build-dir DIR] [--sanitize address,undefined|thread] [--type Release|Debug|RelWithDebInfo]
#   tools/setup.sh --deps-only     (only install the missing packages)
#   tools/setup.sh ... -- -DOPTION=VALUE ...   (extra CMake options)
#
# Prints the build directory's path as its last line.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
build_dir="$here/build"
sanitize=""
build_type="RelWithDebInfo"
deps_only=0
cmake_args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --build-dir) build_dir=$2; shift 2 ;;
    --sanitize) sanitize=$2; shift 2 ;;
    --type) build_type=$2; shift 2 ;;
    --deps-only) deps_only=1; shift ;;
    --) shift; cmake_args=("$@"); break ;;
    -h|--help) sed -n '2,10p' "$0"; exit 0 ;;
    *) echo "setup.sh: unknown option $1" >&2; exit 2 ;;
  esac
done

# clang: its thread-safety analysis checks the lock annotations (the
# thread_safety:* tests, and a clang build: CC=clang CXX=clang++).
packages=(cmake g++ make pkg-config libhdf5-dev libboost-filesystem-dev libxxhash-dev
          zlib1g-dev catch2 hdf5-tools python3 python3-h5py python3-numpy libsqlite3-dev clang
          python3-dev pybind11-dev python3-pybind11 python3-pytest clang-format)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup.sh: installing ${missing[*]}" >&2
  sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
fi

[ "$deps_only" = 1 ] && exit 0
cmake -S "$here" -B "$build_dir" -DCMAKE_BUILD_TYPE="$build_type" -DH5TX_SANITIZE="$sanitize" "${cmake_args[@]}" >&2
cmake --build "$build_dir" -j"$(nproc)" >&2
echo "$build_dir"
