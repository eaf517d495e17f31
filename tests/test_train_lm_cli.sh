#!/usr/bin/env bash
# `amod train-lm` and `amod eval-lm` on a small generated corpus: training lowers the loss,
# checkpoints reload (dense, MoD with its router and predictor, Llama), Router-Tuning changes
# only the router tensors, eval reports what routing skipped, and bad input fails clearly.
set -u
. "$(dirname "$0")/support/common.sh"
export OMP_NUM_THREADS=1
for i in $(seq 1 400); do echo "the cat sat on the mat $((i % 7)) times, said the dog."; done >"$T/corpus.txt"
SMALL="--layers 2 --width 32 --heads 2 --ff 64 --context 64 --seq 32 --batch 8 --log-every 20 --lr 3e-3 --warmup 10"

"$AMOD" train-lm "$T/dense" --data "$T/corpus.txt" $SMALL --steps 80 >"$T/dense.log" || fail "dense training failed"
first=$(grep -m1 '^step' "$T/dense.log" | awk '{print $4}')
last=$(grep '^step' "$T/dense.log" | tail -1 | awk '{print $4}')
awk -v a="$first" -v b="$last" 'BEGIN { exit !(b < a - 2) }' && ok "dense loss $first -> $last" || fail "loss did not fall: $first -> $last"
[ -s "$T/dense/model.safetensors" ] && grep -q '"model_type":	"gpt2"' "$T/dense/config.json" && ok "checkpoint written" || fail "no checkpoint"
"$AMOD" eval-lm "$T/dense" --data "$T/corpus.txt" --seq 32 >"$T/eval" || fail "eval failed"
ppl=$(awk '/^perplexity/ {print $2}' "$T/eval")
awk -v p="$ppl" 'BEGIN { exit !(p < 12) }' && ok "held-out perplexity $ppl" || fail "held-out perplexity $ppl"
grep -q "attention skipped 0.0000" "$T/eval" && ok "dense skips nothing" || fail "dense eval: $(cat "$T/eval")"

"$AMOD" train-lm "$T/mod" --data "$T/corpus.txt" $SMALL --steps 30 --router linear --capacity 0.25 --predictor 8 >"$T/mod.log" || fail "MoD training failed"
grep -q "predictor acc" "$T/mod.log" && ok "MoD training reports the predictor's accuracy" || fail "no predictor accuracy"
grep -q '"router":	"linear"' "$T/mod/config.json" && ok "MoD routing saved in config.json" || fail "MoD config"
"$AMOD" eval-lm "$T/mod" --data "$T/corpus.txt" --seq 32 >"$T/eval" || fail "MoD eval failed"
grep -q "attention skipped 0.3750" "$T/eval" && ok "MoD C=0.25 on layer 1 of 2 skips 37.5%" || fail "MoD eval: $(cat "$T/eval")"
grep -q "thresholds calibrated to keep C" "$T/mod.log" && ok "the predictor's threshold is calibrated after training" || fail "no calibration"
"$AMOD" eval-lm "$T/mod" --data "$T/corpus.txt" --seq 32 --route predictor >"$T/eval" || fail "predictor eval"
# layer 1 of 2 is MoD: skipped = (1 - kept) / 2; the calibrated predictor keeps about C = 0.25
# of held-out tokens (the plain logit > 0 decision kept none here)
skipped=$(awk '/^perplexity/ {print $7}' "$T/eval")
awk -v s="$skipped" 'BEGIN { k = 1 - 2 * s; exit !(k > 0.1 && k < 0.5) }' &&
  ok "predictor routing keeps $(awk -v s="$skipped" 'BEGIN {print 1 - 2 * s}') of held-out tokens (C = 0.25)" ||
  fail "predictor routing: attention skipped $skipped"
"$AMOD" generate "$T/mod" --prompt "the cat" --tokens 20 >/dev/null && ok "MoD model generates" || fail "MoD generate"
# calibrate-lm: on text of another kind the predictor keeps about C again
for i in $(seq 1 120); do echo "A LOUD BIRD FLEW OVER $((i % 5)) RED ROOFS AT NOON!"; done >"$T/other.txt"
kept_on_other() {
  "$AMOD" eval-lm "$T/mod" --data "$T/other.txt" --seq 32 --route predictor | awk '/^perplexity/ { print 1 - 2 * $7 }'
}
before=$(kept_on_other)
cp -r "$T/mod" "$T/mod_before"
"$AMOD" calibrate-lm "$T/mod" --data "$T/other.txt" --seq 32 --windows 1000 >"$T/cal" || fail "calibrate-lm: $(cat "$T/cal")"
after=$(kept_on_other)
grep -q "layer 1: " "$T/cal" && awk -v k="$after" 'BEGIN { exit !(k > 0.19 && k < 0.31) }' &&
  ok "calibrate-lm: the predictor keeps $after of the other text's tokens (C = 0.25; $before before)" ||
  fail "calibrate-lm: kept $before -> $after ($(cat "$T/cal"))"
cmp -s "$T/mod/model.safetensors" "$T/mod_before/model.safetensors" && ! cmp -s "$T/mod/config.json" "$T/mod_before/config.json" &&
  ok "calibrate-lm changes the thresholds in config.json, not the weights" || fail "calibrate-lm changed the weights"
expect_error "calibrate a model without a predictor" "no causal predictor" -- "$AMOD" calibrate-lm "$T/dense" --data "$T/other.txt" --seq 32
expect_error "calibrate on a missing file" "nothing.txt" -- "$AMOD" calibrate-lm "$T/mod" --data "$T/nothing.txt"
expect_error "calibrate from past the window" "--from 32 must be below --seq 32" -- "$AMOD" calibrate-lm "$T/mod" \
  --data "$T/other.txt" --seq 32 --from 32
"$AMOD" calibrate-lm "$T/mod" --data "$T/other.txt" --seq 32 --from 8 --windows 1000 >"$T/cal_from" &&
  grep -q "positions 8..31" "$T/cal_from" && ok "calibrate-lm --from pools the later positions" ||
  fail "calibrate-lm --from: $(cat "$T/cal_from")"
"$AMOD" calibrate-lm "$T/mod" --data "$T/other.txt" --seq 32 --route predictor >"$T/cal_routed" &&
  grep -q "under predictor routing" "$T/cal_routed" && after=$(kept_on_other) &&
  awk -v k="$after" 'BEGIN { exit !(k > 0.19 && k < 0.31) }' &&
  ok "calibrate-lm --route predictor: the predictor keeps $after of the other text's tokens (C = 0.25)" ||
  fail "calibrate-lm --route predictor: $(cat "$T/cal_routed"), keeps ${after:-?}"
expect_error "calibrate under an unknown routing" "--route must be topk or predictor, not 'best'" -- \
  "$AMOD" calibrate-lm "$T/mod" --data "$T/other.txt" --route best
head -c 20 "$T/other.txt" >"$T/short.txt"
expect_error "calibrate on too short a text" "short.txt: 20 bytes make no window of 32" -- "$AMOD" calibrate-lm "$T/mod" \
  --data "$T/short.txt" --seq 32

"$AMOD" train-lm "$T/llama" --arch llama --kv-heads 1 --data "$T/corpus.txt" $SMALL --steps 20 >/dev/null &&
  "$AMOD" eval-lm "$T/llama" --data "$T/corpus.txt" --seq 32 --max-windows 4 >/dev/null && ok "llama (MQA) trains and reloads" || fail "llama"

"$AMOD" train-lm "$T/rt" --init "$T/dense" --data "$T/corpus.txt" --seq 32 --batch 8 --steps 20 --log-every 10 \
  --router-tuning --mindskip sequence --skip-layers 0 --skip-target 0.5 --skip-lambda 4 --lr 1e-2 >"$T/rt.log" || fail "router tuning failed"
grep -q "training 32 of" "$T/rt.log" && ok "Router-Tuning trains the 32 router weights only" || fail "$(head -1 "$T/rt.log")"
"$AMOD" diff "$T/rt/model.safetensors" "$T/dense/model.safetensors" --tol 0 >"$T/diff" &&
  ok "base weights unchanged by Router-Tuning ($(tail -1 "$T/diff"))" || fail "base weights changed: $(tail -3 "$T/diff")"
grep -q "mindskip_router" "$T/rt/model.safetensors" && ok "router tensor saved" || fail "no router tensor"
# Router-Tuning's own recipe: zero routers (every gate open at the start), its lr 1e-5, the hinge
"$AMOD" train-lm "$T/rt2" --init "$T/dense" --data "$T/corpus.txt" --seq 32 --batch 8 --steps 4 --log-every 1 \
  --router-tuning --mindskip sequence --skip-layers 0 --skip-target 0.5 --skip-style router-tuning >"$T/rt2.log" ||
  fail "router tuning, router-tuning style: $(tail -1 "$T/rt2.log")"
grep -q '"style":	"router-tuning"' "$T/rt2/config.json" && ok "the recipe is saved in config.json" || fail "style not saved"
grep -q "step      1 .*lr 1.00e-05  .*attn kept 1.000  capacity term 0.5000" "$T/rt2.log" &&
  ok "router-tuning style: lr 1e-5, every gate open at step 1, hinge = 1 - target" || fail "rt2 log: $(sed -n 3p "$T/rt2.log")"

printf 'tiny' >"$T/tiny.txt"
expect_error "missing corpus" "nope.txt: cannot open" -- "$AMOD" train-lm "$T/x" --data "$T/nope.txt"
expect_error "tiny corpus" "tiny.txt: 4 bytes is too small a corpus" -- "$AMOD" train-lm "$T/x" --data "$T/tiny.txt"
expect_error "sequence past the positions" "--seq 128 is longer than the model's 64 positions" -- "$AMOD" train-lm "$T/x" --data "$T/corpus.txt" --context 64 --seq 128 --steps 1
expect_error "router tuning without routers" "nothing to train: --router-tuning needs routers" -- "$AMOD" train-lm "$T/x" --init "$T/dense" --data "$T/corpus.txt" --seq 32 --router-tuning --steps 1
expect_error "eval window too long" "shorter than one window of 4096" -- "$AMOD" eval-lm "$T/dense" --data "$T/corpus.txt" --seq 4096
expect_error "bad width" "--width 30 is not divisible by --heads 4" -- "$AMOD" train-lm "$T/x" --data "$T/corpus.txt" --width 30 --heads 4
finish test_train_lm_cli
