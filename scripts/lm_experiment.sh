#!/usr/bin/env bash
# The byte-level LM experiment of docs/LM_EXPERIMENT.md: a GPT-2-style model trained on the
# fortunes corpus (scripts/fetch_corpus.sh), dense; the same model trained with causal MoD
# (linear router, capacity 12.5%, every other layer, causal predictor); and Router-Tuning of
# the dense model with MindSkip (only the routers train). Each is evaluated on the held-out 5%.
# One thread per process: on a shared 2-core machine a second OpenMP thread mostly waits (see
# the doc); the dense and the MoD model train side by side instead. Evaluations run one at a
# time so that their tokens/s compare.
# Usage: scripts/lm_experiment.sh [STEPS] [RT_STEPS]   (defaults 600 and 150)
set -euo pipefail
cd "$(dirname "$0")/.."
STEPS=${1:-600}
RT_STEPS=${2:-150}
AMOD=${AMOD_BIN:-build/amod}
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1} OPENBLAS_NUM_THREADS=${OPENBLAS_NUM_THREADS:-1}
./scripts/fetch_corpus.sh
DATA=data/fortunes.txt
R=runs/lm
mkdir -p "$R"
MODEL="--arch gpt2 --layers 6 --width 128 --heads 4 --context 256"
TRAIN="--data $DATA --batch 16 --seq 128 --steps $STEPS --log-every 50 --seed 1"
EVAL="--data $DATA --seq 128 --batch 8"
run() { echo "+ $*" | tee -a "$R/commands.txt"; "$@"; }
: >"$R/commands.txt"
run "$AMOD" train-lm "$R/dense" $MODEL $TRAIN >"$R/dense.log" &
dense=$!
run "$AMOD" train-lm "$R/mod" $MODEL $TRAIN --router linear --capacity 0.125 --mod-start 1 --predictor 32 >"$R/mod.log" &
mod=$!
wait $dense
wait $mod
tail -n 2 "$R/dense.log" "$R/mod.log"
run "$AMOD" train-lm "$R/mindskip" --init "$R/dense" --data $DATA --batch 16 --seq 128 --steps "$RT_STEPS" --log-every 25 \
  --router-tuning --mindskip sequence --skip-target 0.5 --skip-lambda 4 --lr 1e-2 --warmup 10 --seed 2 | tee "$R/mindskip.log"
{
  echo "| model | perplexity / byte | bits / byte | attention sublayers skipped | MFLOPs / token | tokens / s |"
  echo "|---|---|---|---|---|---|"
  run "$AMOD" eval-lm "$R/dense" $EVAL --markdown "dense GPT-2 (6 x 128)" | tail -1
  run "$AMOD" eval-lm "$R/mod" $EVAL --markdown "MoD C=12.5%, layers 1,3,5, top-k" | tail -1
  run "$AMOD" eval-lm "$R/mod" $EVAL --route predictor --markdown "MoD C=12.5%, causal predictor" | tail -1
  run "$AMOD" eval-lm "$R/mindskip" $EVAL --markdown "dense + Router-Tuning (MindSkip, layers 3,4)" | tail -1
} | grep -v '^+' >"$R/table.md"
grep -h "predictor acc" "$R"/*.log | tail -1 >"$R/predictor.txt" || true
"$AMOD" eval-lm "$R/mod" $EVAL | tail -1 >>"$R/predictor.txt"
cat "$R/table.md"
