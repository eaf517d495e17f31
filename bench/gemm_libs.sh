#!/usr/bin/env bash
# Builds bench/gemm_libs.c once per matrix-product library (OpenBLAS, BLIS, oneDNN: OpenBLAS
# and BLIS cannot share a binary) and runs them one after another at batch 32 and 1, OpenBLAS
# with its own core detection and with the Haswell core an inherited OPENBLAS_CORETYPE pins.
#
#   bench/gemm_libs.sh [OUT_DIR]        (default runs/gemm_libs; needs libblis-dev, libdnnl-dev)
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-runs/gemm_libs}
mkdir -p "$OUT"
CC=${CC:-cc}
FLAGS=(-O2 -march=native -fopenmp)
"$CC" "${FLAGS[@]}" bench/gemm_libs.c -DLIB_OPENBLAS -o "$OUT/gemm_openblas" -lopenblas
if [ -d /usr/lib/x86_64-linux-gnu/blis-openmp ]; then
  "$CC" "${FLAGS[@]}" bench/gemm_libs.c -DLIB_BLIS -I/usr/include/blis -L/usr/lib/x86_64-linux-gnu/blis-openmp \
    -Wl,-rpath,/usr/lib/x86_64-linux-gnu/blis-openmp -o "$OUT/gemm_blis" -lblis
fi
"$CC" "${FLAGS[@]}" bench/gemm_libs.c -DLIB_DNNL -o "$OUT/gemm_dnnl" -ldnnl
for b in 32 1; do
  for lib in openblas blis dnnl; do
    [ -x "$OUT/gemm_$lib" ] && env -u OPENBLAS_CORETYPE "$OUT/gemm_$lib" --batch $b --reps 3 --min-ms 150
  done
  OPENBLAS_CORETYPE=Haswell "$OUT/gemm_openblas" --batch $b --reps 3 --min-ms 150 --scheme split
done
