#!/usr/bin/env bash
# amod train-lm checkpoints and --resume on a tiny generated corpus: a run stopped by
# --max-steps (between checkpoints or on one) and resumed ends with the same model bytes as
# an uninterrupted run with the same seed (dense GPT-2, MoD with the random router, Llama
# Router-Tuning); the checkpoint directory is complete and has no temporaries left; --resume
# without a checkpoint, a fresh run into a used directory and settings given with --resume
# each fail with one clear line. A resumed run leaves last/ holding the final model.
set -u
. "$(dirname "$0")/support/common.sh"
for i in $(seq 1 300); do echo "a quick brown fox $((i % 5)) jumps over the lazy dog $((i % 3))."; done >"$T/corpus.txt"
SMALL=(--layers 2 --width 32 --heads 2 --ff 64 --context 32 --seq 16 --batch 4 --log-every 5 --lr 3e-3 --warmup 3 --seed 7)

# resume_case NAME STOP EVERY OPTIONS...: uninterrupted vs stopped at STOP and resumed.
resume_case() {
  local name=$1 stop=$2 every=$3
  shift 3
  "$AMOD" train-lm "$T/$name-whole" --data "$T/corpus.txt" "$@" --threads 1 >/dev/null || { fail "$name: uninterrupted run"; return; }
  "$AMOD" train-lm "$T/$name-parts" --data "$T/corpus.txt" "$@" --threads 1 --ckpt-every "$every" --max-steps "$stop" \
    >"$T/stdout" || { fail "$name: first part"; return; }
  grep -q "stopped at step $stop" "$T/stdout" || fail "$name: the stop is reported: $(cat "$T/stdout")"
  [ ! -e "$T/$name-parts/model.safetensors" ] || fail "$name: a stopped run wrote the final model"
  grep -q "\"step\":[[:space:]]*$stop," "$T/$name-parts/last/trainer.json" || fail "$name: last/ is not step $stop"
  # The resumed part runs with OpenMP's default thread count: results must not depend on it.
  "$AMOD" train-lm "$T/$name-parts" --resume >"$T/stdout" || { fail "$name: resumed run"; return; }
  grep -q "resuming after step $stop" "$T/stdout" || fail "$name: resume not reported: $(cat "$T/stdout")"
  if cmp -s "$T/$name-whole/model.safetensors" "$T/$name-parts/model.safetensors"; then
    ok "$name: stopped at $stop and resumed, model.safetensors identical"
  else fail "$name: model.safetensors differs after resuming"; fi
  cmp -s "$T/$name-parts/model.safetensors" "$T/$name-parts/last/model.safetensors" \
    || fail "$name: last/ does not hold the final model"
}

resume_case dense 7 5 "${SMALL[@]}" --steps 12
resume_case random 6 3 "${SMALL[@]}" --steps 10 --router random --capacity 0.5
resume_case llama 4 0 "${SMALL[@]}" --steps 9 --arch llama --kv-heads 1 --mindskip token --skip-layers 0 --router-tuning

for f in config.json model.safetensors optimizer.st trainer.json; do
  [ -f "$T/dense-parts/last/$f" ] || fail "checkpoint lacks $f"
done
ls -d "$T/dense-parts/"*.new "$T/dense-parts/"*.old >/dev/null 2>&1 && fail "leftover temporary directories" \
  || ok "checkpoint complete, no temporaries left"

# Resuming twice in a row (a second --max-steps stop) ends the same too.
"$AMOD" train-lm "$T/twice" --data "$T/corpus.txt" "${SMALL[@]}" --steps 12 --max-steps 3 >/dev/null || fail "twice: part 1"
"$AMOD" train-lm "$T/twice" --resume --max-steps 8 >/dev/null || fail "twice: part 2"
"$AMOD" train-lm "$T/twice" --resume >/dev/null || fail "twice: part 3"
cmp -s "$T/dense-whole/model.safetensors" "$T/twice/model.safetensors" && ok "three parts end identical" \
  || fail "three parts: model.safetensors differs"

expect_error "resume without a checkpoint" "none: no checkpoint 'last' in this run directory" -- \
  "$AMOD" train-lm "$T/none" --resume
mkdir -p "$T/empty"
expect_error "resume on a directory without a checkpoint" "empty: no checkpoint 'last'" -- \
  "$AMOD" train-lm "$T/empty" --resume
expect_error "resume keeps the run's settings" "--lr cannot be given with --resume" -- \
  "$AMOD" train-lm "$T/dense-parts" --resume --lr 0.1
expect_error "fresh run into a used directory" "a run is already there" -- \
  "$AMOD" train-lm "$T/dense-parts" --data "$T/corpus.txt" "${SMALL[@]}" --steps 12

finish test_train_lm_resume
