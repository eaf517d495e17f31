#!/usr/bin/env bash
# Training at batch 32 after the bf16 attention products: amod bf16 and PyTorch bf16 autocast
# (and both float32 bests), alternately, 3 rounds.
set -uo pipefail
cd /work/main
O=runs/full/out5; mkdir -p $O
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
