#!/usr/bin/env bash
# OpenMP clauses that silently cost speed. On a combined `parallel for simd`, a plain `if`
# clause applies to the simd construct as well (OpenMP 5.0, as GCC implements it): below the
# threshold the loop then ran scalar, GELU's backward 8.6x slower per element in every MoD
# layer at batch 1. The threshold must be written `if (parallel : ...)`.
set -u
. "$(dirname "$0")/support/common.sh"
bad=$(grep -rnE '#pragma omp [a-z ]*simd[^\n]*\bif *\(' "$SRC/src" "$SRC/bench" | grep -vE 'if *\( *parallel *:' || true)
if [ -n "$bad" ]; then
  fail "a simd construct under a plain if clause (write if (parallel : ...)):"
  echo "$bad"
else
  ok "no simd construct is switched off by a parallel threshold"
fi
# the check itself finds the form it forbids
probe="$T/probe.c"
printf '#pragma omp parallel for simd schedule(static) if (n >= 4)\n' >"$probe"
grep -qE '#pragma omp [a-z ]*simd[^\n]*\bif *\(' "$probe" && ! grep -qE 'if *\( *parallel *:' "$probe" \
  && ok "the check sees a plain if on parallel for simd" || fail "the check misses the form it forbids"
finish test_openmp_clauses
