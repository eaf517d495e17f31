#!/usr/bin/env bash
# amod train / adapt / eval on a tiny IDX data set made here (no network): --resume after a
# stop ends with the same bytes as an uninterrupted run; adaptation and fine-tuning; isoFLOP
# baselines; and bad input (missing directory, corrupt IDX, label out of range, NaN loss) each
# gives one clear line, a non-zero exit, and leaves the last good checkpoint as it was.
set -u
. "$(dirname "$0")/support/common.sh"
. "$(dirname "$0")/support/tiny_idx.sh"

make_tiny_idx "$T/data/toy" 96 32
MODEL=(--data "$T/data" --dataset toy --img-size 8 --patch-size 2 --embed-dim 16 --depth 2 --heads 2)
TRAIN=(--epochs 3 --batch-size 16 --lr 3e-3 --warmup-steps 2 --seed 3 --augment --threads 1 --quiet)
# The resumed part runs with OpenMP's default thread count: results must not depend on it.

# ---- resume: stop after 7 steps (mid-epoch), resume, compare with one uninterrupted run ----
"$AMOD" train --out "$T/whole" "${MODEL[@]}" "${TRAIN[@]}" >/dev/null || fail "uninterrupted run"
"$AMOD" train --out "$T/parts" "${MODEL[@]}" "${TRAIN[@]}" --max-steps 7 >"$T/stdout" || fail "first part"
grep -q "stopped at step 7" "$T/stdout" || fail "the stop is reported: $(cat "$T/stdout")"
"$AMOD" train --out "$T/parts" --resume --quiet >/dev/null || fail "resumed run"
for f in model.safetensors optimizer.st config.json; do
  if cmp -s "$T/whole/last/$f" "$T/parts/last/$f"; then ok "resume: last/$f identical"; else fail "resume: last/$f differs"; fi
done
cut -d, -f1-6 "$T/whole/log.csv" >"$T/a.csv"; cut -d, -f1-6 "$T/parts/log.csv" >"$T/b.csv"
if cmp -s "$T/a.csv" "$T/b.csv" && [ "$(wc -l <"$T/a.csv")" -eq 4 ]; then ok "resume: same log rows"; else fail "resume: log.csv rows differ"; fi
[ -d "$T/whole/best" ] && [ -f "$T/whole/best/model.safetensors" ] || fail "best/ checkpoint missing"
n_st=$(ls "$T/whole/last" | grep -c '\.safetensors$')
[ "$n_st" -eq 1 ] && ok "a checkpoint holds one *.safetensors (timm takes the folder for the model's)" ||
  fail "last/ holds $n_st *.safetensors files"
# a run written before the optimizer state's rename resumes from optimizer.safetensors
"$AMOD" train --out "$T/old" "${MODEL[@]}" "${TRAIN[@]}" --max-steps 7 >/dev/null || fail "old-style first part"
mv "$T/old/last/optimizer.st" "$T/old/last/optimizer.safetensors"
"$AMOD" train --out "$T/old" --resume --quiet >/dev/null || fail "resume from optimizer.safetensors"
cmp -s "$T/whole/last/model.safetensors" "$T/old/last/model.safetensors" &&
  ok "resume from a run that named its optimizer state optimizer.safetensors" || fail "old-style resume differs"

expect_error "resume keeps the run's settings" "--lr cannot be given with --resume" -- \
  "$AMOD" train --out "$T/parts" --resume --lr 0.1
expect_error "fresh run into a used directory" "already" -- "$AMOD" train --out "$T/whole" "${MODEL[@]}" "${TRAIN[@]}"
expect_error "resume without a run" "no checkpoint 'last'" -- "$AMOD" train --out "$T/none" --resume

# ---- mixed precision: --precision bf16 is saved with the run and resumed as it was, or refused ----
if "$AMOD" train --out "$T/bf16" "${MODEL[@]}" "${TRAIN[@]}" --precision bf16 >/dev/null 2>"$T/bf16.err"; then
  grep -q '"precision":[[:space:]]*"bf16"' "$T/bf16/last/trainer.json" && ok "bf16: saved in trainer.json" ||
    fail "bf16: trainer.json lacks the precision"
  cmp -s "$T/whole/last/model.safetensors" "$T/bf16/last/model.safetensors" &&
    fail "bf16: the same bytes as the float32 run (the products ran in float32)" || ok "bf16: differs from float32"
  "$AMOD" train --out "$T/bf16p" "${MODEL[@]}" "${TRAIN[@]}" --precision bf16 --max-steps 7 >/dev/null 2>&1 &&
    "$AMOD" train --out "$T/bf16p" --resume --quiet --threads 1 >/dev/null || fail "bf16: stop and resume"
  cmp -s "$T/bf16/last/model.safetensors" "$T/bf16p/last/model.safetensors" &&
    ok "bf16: resumed run identical to the uninterrupted one" || fail "bf16: resumed run differs"
  grep -q '"precision":[[:space:]]*"f32"' "$T/whole/last/trainer.json" && ok "f32: saved in trainer.json" ||
    fail "f32: trainer.json lacks the precision"
else
  grep -q "bf16 needs" "$T/bf16.err" && ok "bf16 refused here: $(cat "$T/bf16.err")" ||
    fail "bf16 run failed: $(cat "$T/bf16.err")"
fi
expect_error "an unknown precision" "--precision must be f32 or bf16" -- \
  "$AMOD" train --out "$T/p8" "${MODEL[@]}" "${TRAIN[@]}" --precision fp8

# ---- adaptation without training, evaluation, fine-tuning ----
"$AMOD" adapt "$T/whole/last" --out "$T/amod" --router attention --capacity 0.5 >/dev/null || fail "adapt attention"
"$AMOD" adapt "$T/whole/last" --out "$T/lin" --router linear --capacity 0.125 --seed 4 >/dev/null || fail "adapt linear"
grep -q '"router":.*"attention"' "$T/amod/config.json" || fail "adapted config has no mod section"
if head -c 4096 "$T/lin/model.safetensors" | grep -aq 'blocks.1.router.weight'; then ok "linear router weights added"
else fail "no router weight in the linear checkpoint"; fi
if head -c 4096 "$T/amod/model.safetensors" | grep -aq 'router'; then fail "A-MoD must add no parameters"; else ok "A-MoD adds no parameters"; fi
"$AMOD" eval "$T/amod" --data "$T/data" --dataset toy --threads 1 --json "$T/eval.json" >"$T/stdout" || fail "eval"
grep -q "top-1" "$T/stdout" && grep -q '"accuracy"' "$T/eval.json" && grep -q '"macs_per_image"' "$T/eval.json" \
  && ok "eval: $(cat "$T/stdout")" || fail "eval output: $(cat "$T/stdout")"
# One thread: inference A-MoD sums attention columns with atomics, whose order varies.
"$AMOD" eval "$T/whole/last" --data "$T/data" --dataset toy --threads 1 --router attention --capacity 0.5 >"$T/over" || fail "eval with MoD options"
grep -o 'top-1.*mean loss [0-9.]*' "$T/over" >"$T/over.txt"; grep -o 'top-1.*mean loss [0-9.]*' "$T/stdout" >"$T/adapted.txt"
cmp -s "$T/over.txt" "$T/adapted.txt" && ok "eval --router equals eval of the adapted checkpoint" \
  || fail "eval --router differs: $(cat "$T/over") vs $(cat "$T/stdout")"
"$AMOD" train --out "$T/ft" --init "$T/lin" --data "$T/data" --dataset toy --epochs 1 --batch-size 16 --threads 1 --quiet >/dev/null \
  || fail "fine-tune from an adapted checkpoint"
grep -q '"linear"' "$T/ft/last/config.json" && ok "fine-tuned checkpoint keeps the linear router" || fail "fine-tuned mod lost"
expect_error "adapt into an existing model" "already holds a model" -- "$AMOD" adapt "$T/whole/last" --out "$T/amod" --router attention

# ---- isoFLOP baseline: a dense model, shallower than the MoD one ----
"$AMOD" train --out "$T/iso" --data "$T/data" --dataset toy --img-size 8 --patch-size 2 --embed-dim 16 --depth 4 --heads 2 \
  --router attention --capacity 0.125 --isoflop depth --epochs 1 --batch-size 16 --threads 1 --quiet >/dev/null 2>"$T/iso.err" \
  || fail "isoflop run"
if grep -q '"depth":[[:space:]]*[123],' "$T/iso/last/config.json" && ! grep -q '"mod"' "$T/iso/last/config.json"; then
  ok "isoflop: $(cat "$T/iso.err")"; else fail "isoflop baseline config: $(cat "$T/iso/last/config.json")"; fi

# ---- bad data: one line each, and a run's last/ untouched ----
cp -r "$T/parts/last" "$T/kept"
mkdir -p "$T/bad/toy" "$T/lab/toy"
cp "$T/data/toy/"* "$T/bad/toy/"; cp "$T/data/toy/"* "$T/lab/toy/"
head -c 1000 "$T/data/toy/train-images-idx3-ubyte" >"$T/bad/toy/train-images-idx3-ubyte"
printf '\x00\x00\x08\x01\x00\x00\x00\x60' >"$T/lab/toy/train-labels-idx1-ubyte"
for i in $(seq 96); do printf '\x0c'; done >>"$T/lab/toy/train-labels-idx1-ubyte"
expect_error "missing data directory" "nowhere/toy: no such data set directory" -- \
  "$AMOD" train --out "$T/x1" "${MODEL[@]}" --data "$T/nowhere"
expect_error "corrupt IDX file" "train-images-idx3-ubyte: truncated" -- \
  "$AMOD" train --out "$T/x2" "${MODEL[@]}" --data "$T/bad"
expect_error "label out of range" "train-labels-idx1-ubyte: label 12 at index 0 is out of range for 10 classes" -- \
  "$AMOD" train --out "$T/x3" "${MODEL[@]}" --data "$T/lab"
expect_error "resume on corrupt data" "truncated" -- "$AMOD" train --out "$T/parts" --resume --data "$T/bad"
expect_error "eval on corrupt data" "truncated" -- "$AMOD" eval "$T/parts/last" --data "$T/bad" --dataset toy --split train
for f in model.safetensors optimizer.st trainer.json config.json; do
  cmp -s "$T/kept/$f" "$T/parts/last/$f" || fail "last/$f changed by a failed command"
done
[ ! -e "$T/x1/last" ] && [ ! -e "$T/x2/last" ] && [ ! -e "$T/x3/last" ] && ok "no checkpoint from failed starts" \
  || fail "a failed start wrote a checkpoint"

# ---- NaN: names the step, keeps the checkpoint of the step before ----
expect_error "NaN loss" "step 2: the training loss is nan; training stopped, .*/nan/last \(step 1\) is kept" -- \
  "$AMOD" train --out "$T/nan" "${MODEL[@]}" --batch-size 16 --lr 1e30 --warmup-steps 0 --ckpt-every 1 --quiet
grep -q '"step":[[:space:]]*1,' "$T/nan/last/trainer.json" || fail "last/ is not the step-1 checkpoint"
"$AMOD" eval "$T/nan/last" --data "$T/data" --dataset toy >/dev/null || fail "the kept checkpoint does not load"
ls -d "$T/nan/"*.new "$T/nan/"*.old "$T/nan/last/"*.tmp >/dev/null 2>&1 && fail "leftover temporary files" || ok "no temporary files left"

finish test_train_cli
