#!/usr/bin/env bash
# Data-parallel training under `mpirun -np 2 --oversubscribe`:
# - 2 ranks at 16 images each end with the weights of 1 rank at 32 after 8 steps, up to float
#   summation order (the allreduce adds two partial gradients where one process sums 32 rows
#   at once): relative max error < 1e-5 per tensor, except the attention qkv bias (< 1e-3):
#   its key part has a gradient that is zero in exact arithmetic, so it holds rounding noise,
#   and AdamW's m / sqrt(v) turns that noise into steps of full size whose sign follows the
#   summation order;
# - every rank holds the same weights (each writes its own checkpoint here, compared byte for byte);
# - a resumed 2-rank run equals an uninterrupted one, byte for byte;
# - a global batch that does not divide by the ranks, and ranks given different data, stop with
#   a clear error and no hang.
set -u
. "$(dirname "$0")/support/common.sh"
. "$(dirname "$0")/support/mpi_test.sh"
. "$(dirname "$0")/support/tiny_idx.sh"

make_tiny_idx "$T/data/toy" 128 32
MODEL=(--data "$T/data" --dataset toy --img-size 8 --patch-size 2 --embed-dim 16 --depth 2 --heads 2)
TRAIN=(--epochs 2 --batch-size 32 --lr 3e-3 --warmup-steps 2 --seed 3 --augment --threads 1 --quiet)

"$AMOD" train --out "$T/one" "${MODEL[@]}" "${TRAIN[@]}" >/dev/null || fail "1 rank"
"${MPI[@]}" "$AMOD" train --out "$T/two" "${MODEL[@]}" "${TRAIN[@]}" >"$T/out2" 2>"$T/err2" || { fail "2 ranks"; cat "$T/err2"; }
grep -q "2 ranks, .* s in gradient allreduce" "$T/err2" && ok "2 ranks: $(grep allreduce "$T/err2")" || fail "no allreduce report"
"$AMOD" diff "$T/two/last/model.safetensors" "$T/one/last/model.safetensors" >"$T/d"
worst=$(awk '$1 !~ /qkv.bias/ && NF == 2 && $2 + 0 > w { w = $2 + 0 } END { printf "%.3g", w }' "$T/d")
worst_kb=$(awk '$1 ~ /qkv.bias/ && $2 + 0 > w { w = $2 + 0 } END { printf "%.3g", w }' "$T/d")
if awk -v a="$worst" -v b="$worst_kb" 'BEGIN { exit !(a < 1e-5 && b < 1e-3) }' && [ "$(grep -c . "$T/d")" -gt 30 ]; then
  ok "2x16 vs 1x32 after 8 steps: relative max error $worst (qkv bias $worst_kb)"
else fail "2 ranks differ from 1 rank: $worst (qkv bias $worst_kb)"; cat "$T/d"; fi
grep -c . "$T/two/log.csv" | grep -qx 3 && ok "rank 0 alone wrote the log" || fail "log.csv rows: $(cat "$T/two/log.csv")"

# Every rank holds the same weights after every step: --check-ranks compares a hash of the
# weights across ranks after each update and stops on the first difference.
"${MPI[@]}" "$AMOD" train --out "$T/checked" "${MODEL[@]}" "${TRAIN[@]}" --check-ranks >/dev/null 2>"$T/e" \
  && ok "weights identical on both ranks after each of 8 steps" || { fail "--check-ranks"; cat "$T/e"; }
"${MPI[@]}" "$AMOD" train --out "$T/parts" "${MODEL[@]}" "${TRAIN[@]}" --max-steps 3 >/dev/null 2>&1 || fail "2 ranks, first part"
"${MPI[@]}" "$AMOD" train --out "$T/parts" --resume --quiet >/dev/null 2>&1 || fail "2 ranks, resumed"
for f in model.safetensors optimizer.st; do
  cmp -s "$T/two/last/$f" "$T/parts/last/$f" && ok "2-rank resume: last/$f identical" || fail "2-rank resume: last/$f differs"
done

# bad setups: a batch that does not split, ranks with different data
"${MPI[@]}" "$AMOD" train --out "$T/odd" "${MODEL[@]}" "${TRAIN[@]}" --batch-size 15 >/dev/null 2>"$T/e" \
  && fail "odd batch accepted" || { grep -q "global batch 15 does not divide by the 2 ranks" "$T/e" && ok "odd batch refused" || { fail "odd batch message"; cat "$T/e"; }; }
make_tiny_idx "$T/data2/toy" 128 32 8 3
cat >"$T/diffdata.sh" <<EOS
#!/usr/bin/env bash
d="$T/data"; [ "\${OMPI_COMM_WORLD_RANK}" = 1 ] && d="$T/data2"
exec "$AMOD" train --out "$T/dd" --data "\$d" --dataset toy --img-size 8 --patch-size 2 --embed-dim 16 --depth 2 --heads 2 --epochs 1 --batch-size 32 --threads 1 --quiet
EOS
chmod +x "$T/diffdata.sh"
"${MPI[@]}" "$T/diffdata.sh" >/dev/null 2>"$T/e" && fail "different data accepted" \
  || { grep -q "ranks disagree on the training data" "$T/e" && ok "different data refused" || { fail "different data message"; cat "$T/e"; }; }
# a rank that dies: the others must not wait for it forever, and no checkpoint is half-written
cat >"$T/dies.sh" <<EOS
#!/usr/bin/env bash
[ "\${OMPI_COMM_WORLD_RANK}" = 1 ] && { sleep 1; kill -9 \$\$; }
exec "$AMOD" train --out "$T/dies" "\$@"
EOS
chmod +x "$T/dies.sh"
start=$(date +%s)
"${MPI[@]}" "$T/dies.sh" "${MODEL[@]}" --epochs 400 --batch-size 32 --threads 1 --quiet >/dev/null 2>&1 \
  && fail "a dead rank went unnoticed" || {
  took=$(( $(date +%s) - start ))
  if [ $took -lt 120 ] && ! ls "$T"/dies/*/*.tmp >/dev/null 2>&1; then ok "a dead rank stops the run in ${took}s, no partial files"
  else fail "dead rank: ${took}s, leftovers: $(ls "$T"/dies/*/ 2>/dev/null)"; fi; }
finish test_train_mpi
