#!/usr/bin/env bash
# This session's measurement pass (commit bd30d58): ONNX Runtime side by side (3 rounds), then
# training at batch 32, amod bf16 / f32 against PyTorch bf16 autocast / hand-written f32,
# alternately, 3 rounds (as 2026-12-03's run5.sh).
set -uo pipefail
cd /work/main
O=runs/pass4; mkdir -p $O
echo "=== $(date -u +%T) ORT"
ROUNDS=3 OUT=runs/ort bench/ort/compare_ort.sh build > $O/ort_compare.txt 2>&1
for r in 1 2 3; do
  echo "=== $(date -u +%T) round $r amod"
  for p in bf16 f32; do
    build/amod bench --batch 32 --mode train --capacities 0.5 --routers attention --no-isoflop --warmup 2 --iters 8 \
      --precision $p --json $O/amod_${p}_$r.json > $O/amod_${p}_$r.txt 2>&1
  done
  echo "=== $(date -u +%T) round $r torch"
  /usr/bin/python3 bench/torch_vit.py --batch 32 --threads 2 --rows dense,mod_attention_c0500 --modes train \
    --impls bf16,hand --cores unset --thread-configs 2:0:passive --sweep-rows all --json-out $O/torch_$r.json > $O/torch_$r.txt 2>&1
done
echo "=== $(date -u +%T) done"
