#!/usr/bin/env bash
# ONNX Runtime side by side with 5 rounds, decode with 5 rounds, batch-1 training MoD rows in 3 rounds.
set -uo pipefail
cd /work/main
O=runs/full/out3; mkdir -p $O
echo "=== $(date -u +%T) ort"
ROUNDS=5 OUT=runs/full/ort bench/ort/compare_ort.sh build > $O/ort_compare_5.txt 2>&1
echo "=== $(date -u +%T) batch 1 training"
for r in 1 2 3; do
  for p in f32 bf16; do
    build/amod bench --batch 1 --mode train --no-isoflop --precision $p --json $O/amod_b1_train_${p}_$r.json > $O/amod_b1_train_${p}_$r.txt 2>&1
  done
done
echo "=== $(date -u +%T) decode"
ROUNDS=5 OUT=runs/full/decode bench/decode.sh build > $O/decode_5.txt 2>&1
echo "=== $(date -u +%T) done"
