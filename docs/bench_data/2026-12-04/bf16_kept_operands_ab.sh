#!/bin/bash
# old vs new binary, alternately: b32 training bf16 and f32
for r in 1 2 3 4 5; do
  for prec in bf16 f32; do
    for b in /tmp/oldtree/build/amod /work/main/build/amod; do
      echo "== $b $prec round $r"
      $b bench --batch 32 --mode train --capacities 0.5 --routers attention --no-isoflop --warmup 2 --iters 8 --precision $prec 2>&1 | grep -E "^\| (dense|MoD)" | awk -F'|' '{print $2,$7,$8,$10}'
    done
  done
done
