#!/usr/bin/env bash
# before (a3e6f1e) and after (HEAD) amod bench, alternately, 2 rounds each
set -u
B=/tmp/before/build/amod; A=/work/main/build/amod; O=/tmp/benchcmp
for r in 1 2; do
  for which in before after; do
    bin=$B; [ $which = after ] && bin=$A
    $bin bench --batch 32 --threads 2 --mode infer,train --no-isoflop --warmup 2 --iters 8 --json $O/b32_${which}_$r.json > $O/b32_${which}_$r.md 2>&1
    $bin bench --batch 1 --threads 2 --mode infer --no-isoflop --warmup 5 --iters 40 --json $O/b1_${which}_$r.json > $O/b1_${which}_$r.md 2>&1
  done
done
echo done > $O/finished
