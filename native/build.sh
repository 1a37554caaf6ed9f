#!/usr/bin/env bash
# native/build.sh [release|asan|fuzz] -- configure and build into build/,
# build-asan/ or build-fuzz/. Prints the build folder on stdout.
set -euo pipefail
cd "$(dirname "$0")/.."
kind=${1:-release}
jobs=$(nproc)
case "$kind" in
  release) dir=build; opts=(-DCMAKE_BUILD_TYPE=Release) ;;
  asan)    dir=build-asan; opts=(-DCMAKE_BUILD_TYPE=Debug -DRT5_SANITIZE=ON) ;;
  fuzz)    dir=build-fuzz; opts=(-DCMAKE_BUILD_TYPE=Debug -DRT5_SANITIZE=ON -DRT5_FUZZ=ON
                                 -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++) ;;
  *) echo "usage: native/build.sh [release|asan|fuzz]" >&2; exit 2 ;;
esac
cmake -S . -B "$dir" "${opts[@]}" >&2
cmake --build "$dir" -j "$jobs" >&2
echo "$dir"
