#!/usr/bin/env bash
# Decode speed at batch 1 with a KV cache: amod generate on a GPT-2-small-shaped byte-level
# model (12 layers, width 768, 12 heads, random weights after one training step) dense, with
# causal MoD (linear router, C = 0.125, MoD layers 1, 3, ..., 11; trained 40 steps so that its
# causal predictor has learnt something, and its thresholds are calibrated to keep C; the
# predictor decides per new token, and the share of MoD blocks that ran is reported; amod
# calibrate-lm sets the thresholds on windows of the decode length first, on the positions the
# decode generates (after the 32-byte prompt) and under predictor routing, as generate routes)
# and with
# MindSkip (sequence gates), against a plain-torch
# KV-cache loop of the same shape (bench/torch_decode.py, with OPENBLAS_NUM_THREADS=1: its
# fastest configuration here; OpenBLAS's threads next to torch's made it 2.5x slower). amod and
# torch run alternately, ROUNDS times; decode tokens/s = (TOKENS - 1) / (time for TOKENS tokens -
# time for 1 token), so the prompt's prefill is left out. amod decodes with teacher forcing
# (--teacher-file: the new tokens are the training text's next bytes), so that the predictor
# routes the kind of text it was trained on; a random model's own samples are not that text.
#
#   bench/decode.sh [BUILD_DIR]      environment: ROUNDS (3), TOKENS (129), OUT (runs/decode)
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
AMOD=$BUILD/amod
ROUNDS=${ROUNDS:-3}
TOKENS=${TOKENS:-129}
OUT=${OUT:-runs/decode}
mkdir -p "$OUT"
echo "# $(date -u +%FT%TZ) $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores; commit $(git rev-parse --short HEAD 2>/dev/null || echo '?')"
"$AMOD" version --verbose | sed 's/^/# amod: /'

# a text to take one training step on, and the prompt (32 bytes)
printf 'The quick brown fox jumps over the lazy dog. %.0s' $(seq 100) >"$OUT/text.txt"
head -c 32 "$OUT/text.txt" >"$OUT/prompt.txt"
tail -c +33 "$OUT/text.txt" | head -c "$TOKENS" >"$OUT/teacher.txt"
SHAPE=(--arch gpt2 --layers 12 --width 768 --heads 12 --context 512 --steps 1 --batch 1 --seq 16 --warmup 1)
make_model() { # name, extra options
  local dir=$OUT/$1; shift
  [ -f "$dir/model.safetensors" ] && return
  "$AMOD" train-lm "$dir" --data "$OUT/text.txt" "$@" --log-every 1000 >/dev/null
}
make_model dense "${SHAPE[@]}"
make_model mod --arch gpt2 --layers 12 --width 768 --heads 12 --context 512 --steps 40 --batch 4 --seq 64 \
  --warmup 5 --router linear --capacity 0.125
# the thresholds train-lm set keep C of its 64-byte training windows; decoding runs to
# 32 + TOKENS positions, where the predictor's logits sit elsewhere (4.7 % of the MoD blocks ran
# on 2026-12-02): calibrate on windows of the decode length of the same text
"$AMOD" calibrate-lm "$OUT/mod" --data "$OUT/text.txt" --seq $((32 + TOKENS)) --from 32 --route predictor >/dev/null
make_model mindskip --data "$OUT/text.txt" --init "$OUT/dense" --router-tuning --mindskip sequence --steps 1 --batch 1 --seq 16 --warmup 1

seconds() { # model, tokens -> seconds of amod generate (from --stats); the line goes to OUT/stats.txt
  "$AMOD" generate "$1" --prompt-file "$OUT/prompt.txt" --teacher-file "$OUT/teacher.txt" --tokens "$2" --stats 2>&1 >/dev/null |
    tee -a "$OUT/stats.txt" | sed -n 's/.* tokens in \([0-9.]*\) s.*/\1/p'
}
: >"$OUT/results.txt"
: >"$OUT/stats.txt"
for r in $(seq "$ROUNDS"); do
  for name in dense mod mindskip; do
    t1=$(seconds "$OUT/$name" 1)
    tn=$(seconds "$OUT/$name" "$TOKENS")
    echo "$name $(awk -v a="$t1" -v b="$tn" -v n="$TOKENS" 'BEGIN {printf "%.2f", (n - 1) / (b - a)}')" >>"$OUT/results.txt"
  done
  OPENBLAS_NUM_THREADS=1 /usr/bin/python3 bench/torch_decode.py --layers 12 --width 768 --heads 12 --vocab 256 --prompt 32 \
    --tokens "$TOKENS" --threads 2 --reps 1 |
    /usr/bin/python3 -c 'import json,sys; print("torch %.2f" % json.load(sys.stdin)["tokens_per_s"])' >>"$OUT/results.txt"
done
/usr/bin/python3 - "$OUT/results.txt" "$ROUNDS" <<'PY'
import statistics, sys
v = {}
for line in open(sys.argv[1]):
    name, tps = line.split()
    v.setdefault(name, []).append(float(tps))
med = {k: statistics.median(x) for k, x in v.items()}
print(f"| engine / model | decode tokens/s (median of {sys.argv[2]} rounds) | per-round values | vs amod dense |")
print("|---|---:|---|---:|")
for k in ("dense", "mod", "mindskip", "torch"):
    if k in med:
        label = {"dense": "amod dense", "mod": "amod MoD (predictor, C=0.125)", "mindskip": "amod MindSkip (sequence)",
                 "torch": "torch KV-cache loop (dense)"}[k]
        print(f"| {label} | {med[k]:.1f} | {' '.join(f'{x:.1f}' for x in v[k])} | {med[k] / med['dense']:.2f}x |")
PY
echo "MoD decode (runs of $TOKENS tokens): $(grep "^amod generate: $TOKENS tokens" "$OUT/stats.txt" |
  grep -o 'MoD blocks ran for [0-9.]*% of new tokens' | sort | uniq -c | tr -s ' ' | tr '\n' ';')"
