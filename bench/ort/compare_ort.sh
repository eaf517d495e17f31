#!/usr/bin/env bash
# amod against ONNX Runtime (npm onnxruntime-node, CPU execution provider) on DeiT-Tiny dense
# and Mixture-of-Depths (attention and linear routers, C = 0.5 and 0.125), inference, side by
# side: the two engines run alternately, ROUNDS times, and each row reports the median over
# rounds of each engine's median step time.
#
#   bench/ort/compare_ort.sh [BUILD_DIR]
#
# Environment: ROUNDS (3), THREADS (2), BATCHES (32,1), ITERS (10 steps per row at batch > 1),
# ITERS_B1 (100 at batch 1: a step takes milliseconds there, and on a shared 2-vCPU machine single
# steps swing by whole scheduler ticks, so ten of them give an unstable median), OUT (runs/ort).
# Needs npm (onnxruntime-node is installed into OUT/npm with ONNXRUNTIME_NODE_INSTALL=skip: the
# CPU library ships inside the package) and Debian's python3-torch (the ONNX export, checked
# against torch's logits before any timing).
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=${1:-build}
ROUNDS=${ROUNDS:-3}
THREADS=${THREADS:-2}
BATCHES=${BATCHES:-32,1}
ITERS=${ITERS:-10}
ITERS_B1=${ITERS_B1:-100}
OUT=${OUT:-runs/ort}
AMOD=$BUILD/amod
mkdir -p "$OUT"
[ -x "$AMOD" ] || { echo "compare_ort.sh: no amod binary at $AMOD (cmake -B $BUILD && cmake --build $BUILD)" >&2; exit 1; }

echo "# $(date -u +%FT%TZ) $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores; commit $(git rev-parse --short HEAD 2>/dev/null || echo '?')"
echo "# OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE-(unset)} OMP_NUM_THREADS=${OMP_NUM_THREADS-(unset)}"
"$AMOD" version --verbose | sed 's/^/# amod: /'

if [ ! -f "$OUT/npm/node_modules/onnxruntime-node/package.json" ]; then
  mkdir -p "$OUT/npm"
  (cd "$OUT/npm" && ONNXRUNTIME_NODE_INSTALL=skip npm install --no-audit --no-fund onnxruntime-node >/dev/null)
fi
echo "# onnxruntime-node $(sed -n 's/.*"version": *"\([^"]*\)".*/\1/p' "$OUT/npm/node_modules/onnxruntime-node/package.json" | head -1)"
if [ ! -f "$OUT/mod_linear_c0125.onnx" ]; then
  /usr/bin/python3 bench/ort/export_onnx.py "$OUT" 2>&1 | grep -v -i warn
fi

rm -f "$OUT"/amod_*.json "$OUT"/ort_*.jsonl
for r in $(seq "$ROUNDS"); do
  for b in ${BATCHES//,/ }; do
    iters=$ITERS; [ "$b" = 1 ] && iters=$ITERS_B1
    echo "# round $r, batch $b: amod ($iters steps per row)"
    "$AMOD" bench --batch "$b" --threads "$THREADS" --mode infer --no-isoflop --iters "$iters" --warmup 2 \
      --json "$OUT/amod_${r}_b$b.json" >/dev/null
    echo "# round $r, batch $b: ONNX Runtime"
    node bench/ort/ort_vit.mjs --dir "$OUT" --modules "$OUT/npm/node_modules" --batch "$b" --threads "$THREADS" \
      --iters "$iters" --warmup 2 >"$OUT/ort_${r}_b$b.jsonl"
  done
done

/usr/bin/python3 - "$OUT" "$ROUNDS" <<'PY'
import glob, json, statistics, sys
out, rounds = sys.argv[1], int(sys.argv[2])
amod, ort = {}, {}
for f in sorted(glob.glob(f"{out}/amod_*_b*.json")):
    for row in json.load(open(f))["rows"]:
        amod.setdefault((row["row"].rsplit("_", 1)[0], row["batch"]), []).append(row["images_per_s"])
for f in sorted(glob.glob(f"{out}/ort_*_b*.jsonl")):
    for line in open(f):
        row = json.loads(line)
        ort.setdefault((row["row"], row["batch"]), []).append(row["images_per_s"])
print("| model | batch | amod images/s | ONNX Runtime images/s | amod / ORT | amod speedup vs dense | ORT speedup vs dense |")
print("|---|---:|---:|---:|---:|---:|---:|")
for (name, b) in sorted(amod, key=lambda k: (-k[1], k[0] != "dense", k[0])):
    a = statistics.median(amod[(name, b)])
    o = statistics.median(ort[(name, b)]) if (name, b) in ort else float("nan")
    ad = statistics.median(amod[("dense", b)])
    od = statistics.median(ort[("dense", b)]) if ("dense", b) in ort else float("nan")
    print(f"| {name} | {b} | {a:.1f} | {o:.1f} | {a / o:.2f}x | {a / ad:.2f}x | {o / od:.2f}x |")
print(f"\n(median over {rounds} alternating rounds; per round, each engine's median step)")
PY
