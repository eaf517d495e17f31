#!/usr/bin/env bash
# Builds amod twice (release, and ASan+UBSan) and runs the whole test suite on each; the
# sanitizer run also checks for leaks, and fails on any sanitizer report.
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc)
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j "$jobs"
(cd build && ctest --output-on-failure -j "$jobs")
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DAMOD_SANITIZE=ON >/dev/null
cmake --build build-asan -j "$jobs"

# LeakSanitizer must really run here (it refuses under ptrace, and some containers): a
# program that leaks on purpose has to be caught.
printf '#include <stdlib.h>\nvoid *p;\nint main(void) { p = malloc(7); p = 0; return 0; }\n' |
  cc -fsanitize=address -x c - -o build-asan/lsan_probe
if ASAN_OPTIONS=detect_leaks=1 build-asan/lsan_probe 2>/dev/null; then
  echo "test.sh: LeakSanitizer is not working on this machine; leaks would go unseen" >&2
  exit 1
fi
# Reports go to files, checked after ctest: a shell test that expects a command to fail would
# otherwise take a leak report's exit status for the failure it wanted.
logs=$PWD/build-asan/sanitizer-logs
rm -rf "$logs" && mkdir -p "$logs"
status=0
# Full unwinding so that the suppressions (Open MPI's and OpenBLAS's process-lifetime
# allocations) match whole stacks; amod's own leaks are still reported.
(cd build-asan && ASAN_OPTIONS=detect_leaks=1:fast_unwind_on_malloc=0:log_path=$logs/asan \
   LSAN_OPTIONS=suppressions="$PWD/../tests/lsan.supp":print_suppressions=0 \
   UBSAN_OPTIONS=print_stacktrace=1:log_path=$logs/ubsan ctest --output-on-failure -j "$jobs") || status=$?
if [ -n "$(ls -A "$logs")" ]; then
  cat "$logs"/* >&2
  echo "test.sh: sanitizer reports above (from $logs)" >&2
  status=1
fi
exit $status
