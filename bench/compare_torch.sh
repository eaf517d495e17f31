#!/usr/bin/env bash
# amod against PyTorch on the same rows, side by side.
#
#   bench/compare_torch.sh [BUILD_DIR] [-- extra torch_vit.py arguments]
#
# Environment: BATCH (32), THREADS (2), AMOD (default BUILD_DIR/amod),
# AMOD_BENCH_ARGS (extra arguments for `amod bench`), OUT (folder for the JSON
# files, default runs/compare_torch).  Runs `amod bench --batch B --threads T
# --json OUT/amod.json` when the amod binary has a bench command (otherwise it
# says so and runs PyTorch only), then /usr/bin/python3 bench/torch_vit.py
# (Debian's python3-torch), which prints the PyTorch figures, the best
# configuration of each row, and amod/PyTorch per row.  On a shared machine,
# run it twice or more and merge: /usr/bin/python3 bench/torch_vit.py --merge
# run1/torch.json run2/torch.json --amod-json OUT/amod.json
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=build
if [ $# -gt 0 ] && [ "$1" != "--" ]; then BUILD=$1; shift; fi
[ "${1:-}" = "--" ] && shift
BATCH=${BATCH:-32}
THREADS=${THREADS:-2}
AMOD=${AMOD:-$BUILD/amod}
OUT=${OUT:-runs/compare_torch}
PY=/usr/bin/python3
mkdir -p "$OUT"

echo "# $(date -u +%FT%TZ) $(uname -n); $(lscpu | sed -n 's/^Model name: *//p'); $(nproc) cores"
echo "# uptime: $(uptime)"
echo "# OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE-(unset)} OPENBLAS_NUM_THREADS=${OPENBLAS_NUM_THREADS-(unset)} OMP_NUM_THREADS=${OMP_NUM_THREADS-(unset)}"

if ! "$PY" -c 'import torch' 2>/dev/null; then
  echo "no torch for $PY: apt-get install -y python3-torch" >&2
  exit 1
fi

amod_args=()
if [ ! -x "$AMOD" ]; then
  echo "# no amod binary at $AMOD (build it: cmake -S . -B $BUILD && cmake --build $BUILD): PyTorch only"
elif ! "$AMOD" --help 2>&1 | grep -qE '^[[:space:]]+bench([[:space:]]|$)'; then
  echo "# $AMOD has no bench command yet: PyTorch only"
else
  rm -f "$OUT/amod.json"
  echo "# running: $AMOD bench --batch $BATCH --threads $THREADS --json $OUT/amod.json ${AMOD_BENCH_ARGS:-}"
  # shellcheck disable=SC2086
  if "$AMOD" bench --batch "$BATCH" --threads "$THREADS" --json "$OUT/amod.json" ${AMOD_BENCH_ARGS:-} &&
     [ -s "$OUT/amod.json" ]; then
    amod_args=(--amod-json "$OUT/amod.json")
  else
    echo "# amod bench failed or wrote no JSON: PyTorch only"
  fi
fi

# Without extra arguments: the configurations that were best on the 2-core
# Zen 5 (docs/BENCHMARKS_TORCH_NOTES.md), both OpenBLAS cores; about 8 minutes
# on a quiet machine. torch_vit.py's own default sweeps more (~15 minutes).
if [ $# -eq 0 ]; then
  set -- --impls jit,hand,nn --cores unset,env --thread-configs "1:0,$THREADS:0:passive"
fi
echo "# running: $PY bench/torch_vit.py --batch $BATCH --threads $THREADS --json-out $OUT/torch.json ${amod_args[*]} $*"
"$PY" bench/torch_vit.py --batch "$BATCH" --threads "$THREADS" --json-out "$OUT/torch.json" "${amod_args[@]}" "$@"
echo "# uptime: $(uptime)"
