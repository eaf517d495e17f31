#!/usr/bin/env bash
# Builds amod twice (release, and ASan+UBSan) and runs the whole test suite on each.
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc)
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j "$jobs"
(cd build && ctest --output-on-failure -j "$jobs")
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DAMOD_SANITIZE=ON >/dev/null
cmake --build build-asan -j "$jobs"
# Full unwinding so that the suppressions (Open MPI's and OpenBLAS's process-lifetime
# allocations) match whole stacks; amod's own leaks are still reported.
(cd build-asan && ASAN_OPTIONS=detect_leaks=1:fast_unwind_on_malloc=0 \
  LSAN_OPTIONS=suppressions="$PWD/../tests/lsan.supp":print_suppressions=0 \
  UBSAN_OPTIONS=print_stacktrace=1 ctest --output-on-failure -j "$jobs")
