#!/usr/bin/env bash
# Data-parallel `amod train-lm` under `mpirun -np 2 --oversubscribe`. Both ranks draw the same
# seeded windows and each takes half, so 2 ranks at 4 sequences follow 1 rank at 8 up to
# float summation order (the allreduce adds two partial gradients where one process sums all
# rows at once):
# - Router-Tuning (MindSkip, capacity term on): the router weights after 20 steps agree with
#   one rank's to a relative max error < 1e-5, and the frozen base stays bit for bit;
# - full training with a MoD layer: every tensor < 1e-5, except the attention c_attn bias
#   (< 1e-3): its key part has a gradient that is zero in exact arithmetic, so it holds
#   rounding noise that AdamW's m / sqrt(v) turns into steps of full size (as for the ViT,
#   tests/test_train_mpi.sh); --check-ranks finds the ranks' weights identical after every step;
# - rank 0 alone prints and writes; a global batch that does not divide by the ranks and ranks
#   given different data stop with a clear error and no hang.
set -u
. "$(dirname "$0")/support/common.sh"
. "$(dirname "$0")/support/mpi_test.sh"
for i in $(seq 1 400); do echo "the cat sat on the mat $((i % 7)) times, said the dog."; done >"$T/corpus.txt"
MODEL=(--layers 2 --width 32 --heads 2 --ff 64 --context 64)
STEPS=(--seq 32 --batch 8 --steps 20 --log-every 10 --seed 3)

# worst relative max error of `amod diff A B` over the tensors matching / not matching a pattern
worst() { awk -v p="$2" -v keep="$3" 'NF == 2 && (($1 ~ p) == keep) && $2 + 0 > w { w = $2 + 0 } END { printf "%.3g", w }' "$1"; }
below() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a < b) }'; }

"$AMOD" train-lm "$T/dense" --data "$T/corpus.txt" "${MODEL[@]}" --seq 32 --batch 8 --steps 40 --lr 3e-3 --warmup 10 \
  --log-every 40 >/dev/null || fail "pretraining"

RT=(--init "$T/dense" --data "$T/corpus.txt" "${STEPS[@]}" --router-tuning --mindskip sequence --skip-layers 0
    --skip-target 0.5 --skip-lambda 4 --lr 1e-2)
"$AMOD" train-lm "$T/rt1" "${RT[@]}" >/dev/null || fail "Router-Tuning, 1 rank"
"${MPI[@]}" "$AMOD" train-lm "$T/rt2" "${RT[@]}" >"$T/out" 2>"$T/err" || { fail "Router-Tuning, 2 ranks"; cat "$T/err"; }
grep -q "2 ranks, .* s in gradient allreduce" "$T/err" && ok "2 ranks: $(grep allreduce "$T/err")" || fail "no allreduce report"
[ "$(grep -c '^training' "$T/out")" = 1 ] && [ "$(grep -c '^saved' "$T/out")" = 1 ] && grep -q "(2 ranks of 4 sequences)" "$T/out" \
  && ok "rank 0 alone prints and saves" || { fail "output of the 2-rank run"; cat "$T/out"; }
"$AMOD" diff "$T/rt2/model.safetensors" "$T/rt1/model.safetensors" >"$T/d"
router=$(worst "$T/d" mindskip_router 1)
if grep -q mindskip_router "$T/d" && below "$router" 1e-5; then ok "Router-Tuning 2x4 vs 1x8 after 20 steps: router relative max error $router"
else fail "Router-Tuning: 2 ranks differ from 1 rank: $router"; cat "$T/d"; fi
"$AMOD" diff "$T/rt2/model.safetensors" "$T/dense/model.safetensors" --tol 0 >/dev/null \
  && ok "frozen base unchanged on 2 ranks" || fail "2-rank Router-Tuning changed the base"

FULL=(--data "$T/corpus.txt" "${MODEL[@]}" "${STEPS[@]}" --lr 3e-3 --warmup 5 --router linear --capacity 0.5
      --predictor 8 --mod-layers 1)
"$AMOD" train-lm "$T/f1" "${FULL[@]}" >/dev/null || fail "full training, 1 rank"
"${MPI[@]}" "$AMOD" train-lm "$T/f2" "${FULL[@]}" --check-ranks >/dev/null 2>"$T/err" \
  && ok "weights identical on both ranks after each of 20 steps (--check-ranks)" || { fail "full training, 2 ranks"; cat "$T/err"; }
"$AMOD" diff "$T/f2/model.safetensors" "$T/f1/model.safetensors" >"$T/d"
rest=$(worst "$T/d" c_attn.bias 0)
bias=$(worst "$T/d" c_attn.bias 1)
if [ "$(grep -c . "$T/d")" -gt 30 ] && below "$rest" 1e-5 && below "$bias" 1e-3; then
  ok "full training 2x4 vs 1x8 after 20 steps: relative max error $rest (c_attn bias $bias)"
else fail "full training: 2 ranks differ from 1 rank: $rest (c_attn bias $bias)"; cat "$T/d"; fi

"${MPI[@]}" "$AMOD" train-lm "$T/odd" "${FULL[@]}" --batch 7 >/dev/null 2>"$T/e" && fail "odd batch accepted" \
  || { grep -q "global batch 7 does not divide by the 2 ranks" "$T/e" && ok "odd batch refused" || { fail "odd batch message"; cat "$T/e"; }; }
sed 's/dog/cat/' "$T/corpus.txt" >"$T/other.txt"
cat >"$T/diffdata.sh" <<EOS
#!/usr/bin/env bash
d="$T/corpus.txt"; [ "\${OMPI_COMM_WORLD_RANK}" = 1 ] && d="$T/other.txt"
exec "$AMOD" train-lm "$T/dd" --data "\$d" ${MODEL[*]} ${STEPS[*]}
EOS
chmod +x "$T/diffdata.sh"
"${MPI[@]}" "$T/diffdata.sh" >/dev/null 2>"$T/e" && fail "different data accepted" \
  || { grep -q "ranks disagree on the training data" "$T/e" && ok "different data refused" || { fail "different data message"; cat "$T/e"; }; }
finish test_train_lm_mpi
