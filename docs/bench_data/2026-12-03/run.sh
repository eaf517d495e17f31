#!/usr/bin/env bash
# One measurement pass of issue 13's rows on this machine, one after another.
set -uo pipefail
cd /work/main
O=runs/full/out; mkdir -p $O
A=build/amod
stamp() { echo "=== $(date -u +%T) $*"; }
lscpu > $O/lscpu.txt
$A version --verbose > $O/version.txt 2>&1
stamp sgemm_peak
build/sgemm_peak --threads 2 --batch 32 > $O/sgemm_peak_b32.txt 2>&1
build/sgemm_peak --threads 2 --batch 1 > $O/sgemm_peak_b1.txt 2>&1
stamp gemm_libs
bench/gemm_libs.sh runs/full/gemm > $O/gemm_libs.txt 2>&1
stamp ort
ROUNDS=3 OUT=runs/full/ort bench/ort/compare_ort.sh build > $O/ort_compare.txt 2>&1
stamp amod bench f32 and bf16, batch 32 and 1, infer and train
for p in f32 bf16; do
  $A bench --batch 32,1 --mode infer,train --no-isoflop --precision $p --json $O/amod_bench_$p.json > $O/amod_bench_$p.txt 2>&1
done
stamp torch
/usr/bin/python3 bench/torch_vit.py --batch 32 --threads 2 --impls jit,hand,nn,mkldnn,bf16 --cores unset \
  --thread-configs 1:0,2:0:passive --json-out $O/torch.json --amod-json $O/amod_bench_f32.json > $O/torch_side_by_side.txt 2>&1
stamp amod bench again f32 and bf16 batch 32
for p in f32 bf16; do
  $A bench --batch 32 --mode infer,train --no-isoflop --precision $p --json $O/amod_bench_${p}_2.json > $O/amod_bench_${p}_2.txt 2>&1
done
stamp decode
ROUNDS=3 OUT=runs/full/decode bench/decode.sh build > $O/decode.txt 2>&1
stamp done
