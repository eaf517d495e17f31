#!/usr/bin/env bash
# The cluttered image-folder experiments' tools end to end: `amod train --eval-steps` logs
# evaluations inside epochs (and a resumed run logs the same rows), `amod adapt --drop-layers`
# makes the shallower dense baseline, and `amod route` / `amod importance` read an image folder
# (--dataset imagefolder) with the object boxes of `amod data cluttered` (--boxes): the share
# of kept patches on the object, against the random router's share; bad input gets one line.
set -u
. "$(dirname "$0")/support/common.sh"
. "$(dirname "$0")/support/tiny_idx.sh"

make_tiny_idx "$T/idx/toy" 96 32 8 4
"$AMOD" data cluttered --dir "$T/idx/toy" --size 16 --fragments 3 --fragment-size 4 --seed 5 --out "$T/f" >/dev/null ||
  fail "cluttered"
MODEL=(--data "$T/f" --dataset imagefolder --img-size 16 --patch-size 4 --embed-dim 16 --depth 4 --heads 2)
TRAIN=(--epochs 2 --batch-size 16 --lr 3e-3 --warmup-steps 2 --seed 3 --quiet --threads 2)

# ---- evaluations inside epochs: 6 steps an epoch, every 2 steps, plus each epoch's end ----
"$AMOD" train --out "$T/dense" "${MODEL[@]}" "${TRAIN[@]}" --eval-steps 2 >/dev/null || fail "train --eval-steps"
steps=$(tail -n +2 "$T/dense/log.csv" | cut -d, -f2 | tr '\n' ' ')
[ "$steps" = "2 4 6 8 10 12 " ] && ok "--eval-steps 2: log rows at steps $steps" || fail "--eval-steps rows at steps '$steps'"
awk -F, 'NR > 1 && ($5 == "" || $5 < 0 || $5 > 1) { bad = 1 } END { exit bad }' "$T/dense/log.csv" &&
  ok "every row has a test accuracy" || fail "a row without a test accuracy"
"$AMOD" train --out "$T/parts" "${MODEL[@]}" "${TRAIN[@]}" --eval-steps 2 --max-steps 5 >/dev/null &&
  "$AMOD" train --out "$T/parts" --resume --threads 2 --quiet >/dev/null || fail "--eval-steps: stop and resume"
cmp -s "$T/dense/last/model.safetensors" "$T/parts/last/model.safetensors" &&
  [ "$(cut -d, -f1-5 "$T/parts/log.csv")" = "$(cut -d, -f1-5 "$T/dense/log.csv")" ] &&
  ok "--eval-steps: a resumed run has the same model and the same log rows" || fail "--eval-steps: resume differs"

grep -q '"crop_scale":[[:space:]]*0' "$T/dense/last/trainer.json" && ok "trainer.json records crop_scale" ||
  fail "crop_scale not recorded"
expect_error "a crop scale above 1" "--crop-scale 1.5 is not in \[0, 1\]" -- "$AMOD" train --out "$T/bad" "${MODEL[@]}" \
  "${TRAIN[@]}" --augment --crop-scale 1.5
"$AMOD" train --out "$T/cs" "${MODEL[@]}" "${TRAIN[@]}" --augment --crop-scale 1 --max-steps 2 >/dev/null &&
  grep -q '"crop_scale":[[:space:]]*1' "$T/cs/last/trainer.json" && ok "--crop-scale 1 trains and is recorded" ||
  fail "--crop-scale 1"

# ---- layer dropping ----
"$AMOD" adapt "$T/dense/last" --out "$T/drop" --drop-layers 1,3 >"$T/stdout" 2>&1 || fail "adapt --drop-layers: $(cat "$T/stdout")"
grep -q '"depth":[[:space:]]*2' "$T/drop/config.json" && ! grep -q '"mod"' "$T/drop/config.json" &&
  "$AMOD" eval "$T/drop" --data "$T/f" --dataset imagefolder --split val >/dev/null &&
  ok "adapt --drop-layers 1,3: a 2-block dense model that evaluates" || fail "adapt --drop-layers: $(cat "$T/stdout")"
"$AMOD" train --out "$T/dropft" --init "$T/drop" --data "$T/f" --dataset imagefolder --epochs 1 --batch-size 16 \
  --quiet --threads 2 >/dev/null && ok "the dropped model fine-tunes" || fail "fine-tuning the dropped model"
NO_OUTPUT=$T/x/model.safetensors
expect_error "drop every block" "--drop-layers 0,1,2,3: .*leaves no model" -- "$AMOD" adapt "$T/dense/last" --out "$T/x" \
  --drop-layers 0,1,2,3
expect_error "drop a block it lacks" "--drop-layers 7: .*outside" -- "$AMOD" adapt "$T/dense/last" --out "$T/x" --drop-layers 7
expect_error "drop and route" "not both" -- "$AMOD" adapt "$T/dense/last" --out "$T/x" --drop-layers 1 --router attention
[ ! -e "$T/x" ] && ok "no output directory is left behind" || fail "adapt left $T/x"
NO_OUTPUT=

# ---- route and importance on the image folder, with boxes ----
"$AMOD" adapt "$T/dense/last" --out "$T/amod" --router attention --capacity 0.5 --mod-layers 1,3 >/dev/null || fail "adapt"
"$AMOD" route "$T/amod" --data "$T/f" --dataset imagefolder --n 3 --out "$T/r.png" --dump "$T/r.csv" >/dev/null ||
  fail "route on an image folder"
cut -d, -f2 "$T/r.csv" | sed -n 2p | grep -qE '^val/[0-9]{2}/[0-9]{6}\.png$' && [ "$(wc -l <"$T/r.csv")" -eq $((3 * 2 * 17 + 1)) ] &&
  ok "route: the val pictures, named by their paths" || fail "route dump: $(sed -n 2p "$T/r.csv")"
if "$AMOD" importance "$T/amod" "$T/dense/last" --router random --capacity 0.5 --mod-layers 1,3 --data "$T/f" \
    --dataset imagefolder --n 12 --measure skip --boxes "$T/f/val/boxes.csv" --out-dir "$T/imp" >"$T/stdout" 2>&1 &&
  "$AMOD" importance "$T/amod" --data "$T/f" --dataset imagefolder --n 12 --measure skip \
    --boxes "$T/f/val/boxes.csv" --out-dir "$T/imp1" >>"$T/stdout" 2>&1; then
  # columns 19-25: object_precision, lo, hi, chance, excess, lo, hi; 2 layers x 2 checkpoints
  awk -F, 'NR > 1 { n++; if ($19 < 0 || $19 > 1 || $20 > $19 || $21 < $19 || $22 <= 0 || $22 >= 1 ||
      ($23 - ($19 - $22))^2 > 1e-10) bad = 1 } END { exit bad || n != 4 }' "$T/imp/correlation.csv" &&
    ok "importance --boxes: object precision in [0, 1] inside its interval, beside the random share" ||
    fail "importance --boxes: $(cat "$T/imp/correlation.csv")"
  grep -q "kept patches on the object" "$T/stdout" && ok "importance --boxes: printed per layer" || fail "not printed"
else
  fail "importance on an image folder with boxes: $(cat "$T/stdout")"
fi
expect_error "boxes without a folder" "--boxes needs the image folder" -- "$AMOD" importance "$T/amod" --data "$T/f" \
  --boxes "$T/f/val/boxes.csv"
head -5 "$T/f/val/boxes.csv" >"$T/few.csv"
expect_error "an image without a box" "few.csv: no box for image val/" -- "$AMOD" importance "$T/amod" --data "$T/f" \
  --dataset imagefolder --n 12 --boxes "$T/few.csv" --out-dir "$T/imp2"
printf 'path,label,x,y\nval/00/000000.png,0,1,1\n' >"$T/bad.csv"
expect_error "boxes without w" "bad.csv: no 'w' column" -- "$AMOD" importance "$T/amod" --data "$T/f" \
  --dataset imagefolder --n 2 --boxes "$T/bad.csv" --out-dir "$T/imp2"
expect_error "a split IDX data lacks" "--split val is an image folder's" -- "$AMOD" route "$T/amod" --data "$T/idx/toy" \
  --split val --out "$T/r2.png"
expect_error "an unknown --dataset" "--dataset must be imagefolder" -- "$AMOD" route "$T/amod" --data "$T/f" \
  --dataset mnist --out "$T/r2.png"
expect_error "an index past the folder" "past the end" -- "$AMOD" route "$T/amod" --data "$T/f" --dataset imagefolder \
  --index 999 --out "$T/r2.png"
finish test_cluttered_analysis_cli
