#!/usr/bin/env bash
# A few iterations of `amod bench` on a small preset: the command runs, every row is
# produced and the JSON is well-formed. Timings are printed, never asserted.
set -eu
AMOD=${AMOD_BIN:-build/amod}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
"$AMOD" bench --model vit_tiny_mnist --quick --threads 1,2 --json "$T/b.json" | tee "$T/table"
rows=$(grep -c '^| [dMi]' "$T/table")
# (dense + 2 routers x 2 capacities + 2 isoFLOP x 2 capacities) x 2 modes x 2 thread counts
[ "$rows" -eq 36 ] || { echo "FAIL: expected 36 rows, got $rows"; exit 1; }
grep -q '"images_per_s"' "$T/b.json"
[ "$(grep -c '"mode"' "$T/b.json")" -eq 36 ] || { echo "FAIL: JSON rows"; exit 1; }
"$AMOD" bench --batch 0 2>/dev/null && { echo "FAIL: batch 0 accepted"; exit 1; }
echo "test_bench_smoke: ok"
