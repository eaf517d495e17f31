#!/usr/bin/env bash
# amod (f32, bf16) and PyTorch (f32 best of jit/hand/mkldnn, bf16 autocast) at batch 32,
# alternately, 3 rounds.
set -uo pipefail
cd /work/main
O=runs/full/out2; mkdir -p $O
A=build/amod
for r in 1 2 3; do
  for p in f32 bf16; do
    echo "=== $(date -u +%T) round $r amod $p"
    $A bench --batch 32 --mode infer,train --no-isoflop --warmup 3 --precision $p --json $O/amod_${p}_$r.json > $O/amod_${p}_$r.txt 2>&1
  done
  echo "=== $(date -u +%T) round $r torch f32"
  /usr/bin/python3 bench/torch_vit.py --batch 32 --threads 2 --impls jit,hand,mkldnn --cores unset \
    --thread-configs 1:0,2:0:passive --json-out $O/torch_f32_$r.json > $O/torch_f32_$r.txt 2>&1
  echo "=== $(date -u +%T) round $r torch bf16"
  /usr/bin/python3 bench/torch_vit.py --batch 32 --threads 2 --impls bf16 --cores unset \
    --thread-configs 2:0:passive --json-out $O/torch_bf16_$r.json > $O/torch_bf16_$r.txt 2>&1
done
echo "=== $(date -u +%T) done"
