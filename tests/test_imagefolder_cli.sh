#!/usr/bin/env bash
# Image folders end to end: `amod data cluttered` writes the same pictures for the same seed;
# `amod train --dataset imagefolder` learns from PNG files decoded as batches need them,
# resumes bit for bit, gives the same model on 1 and 2 threads, saves the class names, and
# `amod eval` reads them back; bad folders and bad pictures each get one line naming the file.
set -u
. "$(dirname "$0")/support/common.sh"
. "$(dirname "$0")/support/tiny_idx.sh"

make_tiny_idx "$T/idx/toy" 96 32 8 4
CL=(--dir "$T/idx/toy" --size 16 --fragments 3 --fragment-size 4 --seed 5)
"$AMOD" data cluttered "${CL[@]}" --out "$T/f" >/dev/null || fail "cluttered"
"$AMOD" data cluttered "${CL[@]}" --out "$T/f2" >/dev/null || fail "cluttered again"
[ "$(find "$T/f/train" -name '*.png' | wc -l)" -eq 96 ] && [ "$(find "$T/f/val" -name '*.png' | wc -l)" -eq 32 ] &&
  ok "cluttered: 96 + 32 pictures in 4 class folders" || fail "cluttered: picture counts"
diff -r "$T/f" "$T/f2" >/dev/null && ok "cluttered: the same seed writes the same files" || fail "cluttered is not deterministic"
head -1 "$T/f/train/boxes.csv" | grep -qx "path,label,x,y,w,h" && [ "$(wc -l <"$T/f/train/boxes.csv")" -eq 97 ] &&
  ok "cluttered: boxes.csv" || fail "cluttered: boxes.csv"

MODEL=(--data "$T/f" --dataset imagefolder --img-size 16 --patch-size 4 --embed-dim 16 --depth 2 --heads 2)
TRAIN=(--epochs 3 --batch-size 16 --lr 3e-3 --warmup-steps 2 --seed 3 --augment --quiet)
"$AMOD" train --out "$T/whole" "${MODEL[@]}" "${TRAIN[@]}" --threads 2 >/dev/null || fail "train on an image folder"
"$AMOD" train --out "$T/one" "${MODEL[@]}" "${TRAIN[@]}" --threads 1 >/dev/null || fail "train on one thread"
cmp -s "$T/whole/last/model.safetensors" "$T/one/last/model.safetensors" &&
  ok "augmented image-folder batches: the same model on 1 and 2 threads" || fail "1 and 2 threads differ"
"$AMOD" train --out "$T/prefetch" "${MODEL[@]}" "${TRAIN[@]}" --threads 2 --prefetch >/dev/null || fail "--prefetch"
"$AMOD" train --out "$T/noprefetch" "${MODEL[@]}" "${TRAIN[@]}" --threads 2 --no-prefetch >/dev/null || fail "--no-prefetch"
cmp -s "$T/prefetch/last/model.safetensors" "$T/noprefetch/last/model.safetensors" &&
  cmp -s "$T/whole/last/model.safetensors" "$T/prefetch/last/model.safetensors" &&
  ok "decoding the next batch during the step (--prefetch) gives the --no-prefetch model" || fail "prefetching changes the run"
"$AMOD" train --out "$T/pfparts" "${MODEL[@]}" "${TRAIN[@]}" --threads 2 --prefetch --max-steps 7 >/dev/null &&
  "$AMOD" train --out "$T/pfparts" --resume --prefetch --threads 2 --quiet >/dev/null &&
  cmp -s "$T/whole/last/model.safetensors" "$T/pfparts/last/model.safetensors" &&
  ok "--prefetch: stopped mid-epoch with a batch decoded ahead, the resumed run is bit-exact" || fail "--prefetch resume"
"$AMOD" train --out "$T/parts" "${MODEL[@]}" "${TRAIN[@]}" --threads 2 --max-steps 7 >/dev/null || fail "first part"
"$AMOD" train --out "$T/parts" --resume --threads 2 --quiet >/dev/null || fail "resumed part"
for f in model.safetensors optimizer.st; do
  cmp -s "$T/whole/last/$f" "$T/parts/last/$f" && ok "resume: last/$f equals the uninterrupted run's" ||
    fail "resume: last/$f differs"
done
# mixup, cutmix, label smoothing and random erasing: recorded, and a resumed run mixes alike
MIX=(--mixup 0.8 --cutmix 1.0 --smoothing 0.1 --reprob 0.25 --auto-augment rand-m9-mstd0.5)
"$AMOD" train --out "$T/mix" "${MODEL[@]}" "${TRAIN[@]}" "${MIX[@]}" --threads 2 >/dev/null || fail "train with mixup"
"$AMOD" train --out "$T/mixparts" "${MODEL[@]}" "${TRAIN[@]}" "${MIX[@]}" --threads 2 --max-steps 5 >/dev/null ||
  fail "mixup: first part"
"$AMOD" train --out "$T/mixparts" --resume --threads 2 --quiet >/dev/null || fail "mixup: resumed part"
cmp -s "$T/mix/last/model.safetensors" "$T/mixparts/last/model.safetensors" &&
  ! cmp -s "$T/mix/last/model.safetensors" "$T/whole/last/model.safetensors" &&
  grep -q '"cutmix":[[:space:]]*1' "$T/mixparts/last/trainer.json" &&
  grep -q '"auto_augment":[[:space:]]*"rand-m9-mstd0.5-n2-p0.5"' "$T/mixparts/last/trainer.json" &&
  ok "mixup / cutmix / smoothing / random erasing / RandAugment: resume is bit-exact, and they change the run" ||
  fail "mixup: resume differs, or the options did nothing"
"$AMOD" train --out "$T/trivial" "${MODEL[@]}" "${TRAIN[@]}" --auto-augment trivial --threads 2 >/dev/null &&
  "$AMOD" train --out "$T/trivial1" "${MODEL[@]}" "${TRAIN[@]}" --auto-augment trivial --threads 1 >/dev/null &&
  cmp -s "$T/trivial/last/model.safetensors" "$T/trivial1/last/model.safetensors" &&
  ok "TrivialAugmentWide: the same model on 1 and 2 threads" || fail "TrivialAugmentWide: threads differ"
expect_error "unknown auto-augment" "--auto-augment 'augmix'" -- "$AMOD" train --out "$T/x7" "${MODEL[@]}" --auto-augment augmix
expect_error "smoothing out of range" "smoothing in \[0, 1\)" -- "$AMOD" train --out "$T/x6" "${MODEL[@]}" --epochs 1 \
  --smoothing 1.5 --quiet
grep -q '"label_names"' "$T/whole/last/config.json" && grep -q '"00"' "$T/whole/last/config.json" &&
  ok "class names saved in config.json" || fail "no label_names in config.json"
"$AMOD" eval "$T/whole/last" --data "$T/f" --dataset imagefolder --split val >"$T/eval" 2>&1 &&
  grep -q "top-1" "$T/eval" && ok "eval on the val folder: $(cut -d: -f2 "$T/eval" | head -1)" || fail "eval: $(cat "$T/eval")"
acc=$(sed -E 's/.*top-1 ([0-9.]+)%.*/\1/' "$T/eval" | head -1)
# the run's own evaluation after its last update sees the updated weights (not packed copies of
# the step before): log.csv's last test loss is the saved checkpoint's
"$AMOD" eval "$T/whole/last" --data "$T/f" --dataset imagefolder --split val >"$T/eval_last" 2>&1
logged=$(tail -1 "$T/whole/log.csv" | cut -d, -f4)
evaled=$(sed -E 's/.*mean loss ([0-9.]+),.*/\1/' "$T/eval_last")
awk -v a="$logged" -v b="$evaled" 'BEGIN { exit !(sprintf("%.4f", a) == b) }' &&
  ok "the run's last evaluation equals amod eval of last/ (loss $evaled)" || fail "logged test loss $logged, eval $evaled"
"$AMOD" eval "$T/whole/last" --data "$T/f" --dataset imagefolder --split val --per-class --confusion "$T/conf.png" \
  >"$T/eval_pc" 2>&1 && grep -q "top-5 100.00%" "$T/eval_pc" && [ "$(grep -c '^  class [0-3] (0[0-3]): ' "$T/eval_pc")" -eq 4 ] &&
  [ "$(head -c 8 "$T/conf.png" | od -An -c | tr -d ' ')" = "211PNG\r\n032\n" ] &&
  ok "eval: top-5, per-class accuracy with names, confusion-matrix PNG" || fail "eval extras: $(cat "$T/eval_pc")"
awk -v a="$acc" 'BEGIN { exit !(a > 40) }' && ok "learns (val top-1 $acc% > 40%, 4 classes)" || fail "val top-1 only $acc%"

# packs: decoded once; training and evaluation read them as they read the files
"$AMOD" data pack --dir "$T/f" --out "$T/pk" --size 16 >/dev/null || fail "data pack"
"$AMOD" train --out "$T/packed" --data "$T/pk" "${MODEL[@]:2}" "${TRAIN[@]}" --threads 2 >/dev/null || fail "train on packs"
cmp -s "$T/whole/last/model.safetensors" "$T/packed/last/model.safetensors" &&
  ok "packs: training gives the model bytes that the files give" || fail "packs: the model differs from the files'"
"$AMOD" eval "$T/whole/last" --data "$T/pk" --dataset imagefolder --split val >"$T/eval_pk" 2>&1
[ "$(sed -E 's/.*top-1 ([^,]*),.*/\1/' "$T/eval_pk")" = "$(sed -E 's/.*top-1 ([^,]*),.*/\1/' "$T/eval")" ] &&
  ok "packs: eval gives the files' result" || fail "packs: eval $(cat "$T/eval_pk") vs $(cat "$T/eval")"
head -c 1000 "$T/pk/train.amodpack" >"$T/short.amodpack" && mkdir -p "$T/pkbad" && mv "$T/short.amodpack" "$T/pkbad/train.amodpack"
expect_error "truncated pack" "pkbad/train.amodpack: .*(truncated or corrupt)" -- "$AMOD" train --out "$T/x5" --data "$T/pkbad" \
  --dataset imagefolder --img-size 16 --patch-size 4 --embed-dim 16 --depth 2 --heads 2 --epochs 1

# list files: DIR/train.csv and DIR/val.csv ("path,label", paths relative to the list)
mkdir -p "$T/lists"
( cd "$T/f" && echo "path,label" && for p in train/*/*.png; do c=${p#train/}; echo "../f/$p,${c%%/*}"; done ) >"$T/lists/train.csv"
( cd "$T/f" && echo "path,label" && for p in val/*/*.png; do c=${p#val/}; echo "../f/$p,${c%%/*}"; done ) >"$T/lists/val.csv"
"$AMOD" train --out "$T/listed" --data "$T/lists" "${MODEL[@]:2}" "${TRAIN[@]}" --threads 2 >/dev/null || fail "train on list files"
cmp -s "$T/whole/last/model.safetensors" "$T/listed/last/model.safetensors" &&
  ok "list files: the same pictures and classes train the same model as the folder" || fail "list files: the model differs"
printf 'path,label\n../f/nothere.png,00\n' >"$T/lists/val.csv"
expect_error "list file naming a missing picture" "lists/val.csv: line 2: .*nothere.png: no such image file" -- \
  "$AMOD" eval "$T/whole/last" --data "$T/lists" --dataset imagefolder

# --in-chans 1: a grayscale model from colour pictures (PIL's luma)
"$AMOD" train --out "$T/gray" "${MODEL[@]}" --in-chans 1 --epochs 1 --batch-size 16 --augment --quiet >/dev/null &&
  grep -q '"in_chans":[[:space:]]*1' "$T/gray/last/config.json" && ok "--in-chans 1 on colour pictures" || fail "--in-chans 1"

# transfer learning: the checkpoint on 3 other classes at another size (new head, pos_embed resampled)
mkdir -p "$T/three/train" "$T/three/val"
for c in 01 02 03; do cp -r "$T/f/train/$c" "$T/three/train/k$c"; cp -r "$T/f/val/$c" "$T/three/val/k$c"; done
"$AMOD" train --out "$T/tl" --init "$T/whole/last" --num-classes 3 --img-size 24 --data "$T/three" --dataset imagefolder \
  --epochs 2 --batch-size 16 --lr 1e-3 --threads 2 --quiet >/dev/null 2>"$T/tl.err" || fail "transfer: $(cat "$T/tl.err")"
grep -q '"num_classes":[[:space:]]*3' "$T/tl/last/config.json" && grep -q '"img_size":[[:space:]]*24' "$T/tl/last/config.json" &&
  grep -q '"k01"' "$T/tl/last/config.json" && ok "transfer: --init --num-classes 3 --img-size 24 trains, names k01.." ||
  fail "transfer: config $(grep -c . "$T/tl/last/config.json")"
# a linear probe: only head.* changes
"$AMOD" train --out "$T/probe" --init "$T/whole/last" --train-only head "${MODEL[@]:0:4}" --epochs 1 --batch-size 16 \
  --threads 2 --quiet >/dev/null 2>"$T/probe.err" || fail "linear probe: $(cat "$T/probe.err")"
"$AMOD" diff "$T/whole/last/model.safetensors" "$T/probe/last/model.safetensors" >"$T/probe.diff" 2>&1
moved=$(awk '$2 ~ /^[0-9]/ && $2 != "0.000e+00" {print $1}' "$T/probe.diff" | sort | tr '\n' ' ')
[ "$moved" = "head.bias head.weight " ] && grep -q '"train_only":[[:space:]]*"head"' "$T/probe/last/trainer.json" &&
  ok "linear probe (--train-only head): only head.weight and head.bias change" || fail "linear probe changed: $moved"
expect_error "--num-classes against the data" "--num-classes 5, but .*three has 3 classes" -- "$AMOD" train \
  --out "$T/x8" --init "$T/whole/last" --num-classes 5 --data "$T/three" --dataset imagefolder --epochs 1
expect_error "--num-classes without --init" "--num-classes gives an --init checkpoint" -- "$AMOD" train --out "$T/x0" \
  --num-classes 3 --data "$T/three" --dataset imagefolder

# amod predict: a folder and a file, CSV with class names, JSON, the inputs it saw
one=$(cd "$T/f/val/02" && ls | head -1)
"$AMOD" predict "$T/whole/last" "$T/f/val" "$T/f/val/02/$one" --topk 2 --out "$T/p.csv" 2>"$T/p.err" ||
  fail "predict: $(cat "$T/p.err")"
head -1 "$T/p.csv" | grep -qx "path,top1,p1,top2,p2" && [ "$(wc -l <"$T/p.csv")" -eq 34 ] &&
  grep -q "^$T/f/val/02/$one,0[0-3],0\.[0-9]*,0[0-3]," "$T/p.csv" && grep -q "33 pictures in .* images/s" "$T/p.err" &&
  ok "predict: 33 rows, class names, $(cat "$T/p.err")" || fail "predict CSV: $(head -3 "$T/p.csv")"
right=0
while IFS=, read -r path top1 _; do
  [ "$path" = path ] && continue
  [ "$(basename "$(dirname "$path")")" = "$top1" ] && right=$((right+1))
done <"$T/p.csv"
[ "$right" -ge 16 ] && ok "predict agrees with eval's accuracy ($right of 33 right)" || fail "predict: only $right right"
"$AMOD" predict "$T/whole/last" "$T/f/val/02" --out "$T/p.json" --dump-inputs "$T/in.safetensors" 2>/dev/null &&
  head -c 1 "$T/p.json" | grep -q "\[" && grep -q '"top": \[{"class": "0' "$T/p.json" &&
  grep -aq '"input":{"dtype":"F32","shape":\[8,3,16,16\]' "$T/in.safetensors" && grep -aq "$one" "$T/in.safetensors" &&
  ok "predict: JSON and --dump-inputs" || fail "predict JSON / dump"
expect_error "predict a missing picture" "nope.png" -- "$AMOD" predict "$T/whole/last" "$T/nope.png"

# bad input
expect_error "missing folder" "no such folder" -- "$AMOD" train --out "$T/x1" --data "$T/none" --dataset imagefolder \
  --img-size 16 --patch-size 4 --embed-dim 16 --depth 2 --heads 2 --epochs 1
mkdir -p "$T/empty/train/a" "$T/empty/train/b" && cp "$T/f/train/00/"000000.png "$T/empty/train/a/"
expect_error "empty class folder" "empty/train/b: the class folder holds no image file" -- "$AMOD" train --out "$T/x2" \
  --data "$T/empty" --dataset imagefolder --img-size 16 --patch-size 4 --embed-dim 16 --depth 2 --heads 2 --epochs 1
victim=$(cd "$T/f/train/01" && ls | head -1)
cp -r "$T/f" "$T/bad" && head -c 40 "$T/f/train/01/$victim" >"$T/bad/train/01/$victim"
expect_error "truncated picture" "bad/train/01/$victim: .*(truncated|PNG)" -- "$AMOD" train --out "$T/x3" --data "$T/bad" \
  --dataset imagefolder --img-size 16 --patch-size 4 --embed-dim 16 --depth 2 --heads 2 --epochs 1 --batch-size 16 --quiet
[ ! -e "$T/x3/last" ] && ok "no checkpoint from a run stopped by a bad picture" || fail "a checkpoint was written"
"$AMOD" train --out "$T/skip" --data "$T/bad" --dataset imagefolder --img-size 16 --patch-size 4 --embed-dim 16 --depth 2 \
  --heads 2 --epochs 2 --batch-size 16 --skip-bad-images --quiet >/dev/null 2>"$T/skip.err" &&
  grep -q "skipped 2 unreadable pictures (the first: .*bad/train/01/$victim: truncated PNG" "$T/skip.err" &&
  [ -f "$T/skip/last/model.safetensors" ] && grep -q '"skip_bad_images":[[:space:]]*true' "$T/skip/last/trainer.json" &&
  ok "--skip-bad-images: trains, counts the bad picture once an epoch, names it" || fail "--skip-bad-images: $(cat "$T/skip.err")"
NO_OUTPUT="$T/bad.csv" expect_error "predict a corrupt picture" "bad/train/01/$victim" -- "$AMOD" predict "$T/whole/last" \
  "$T/bad/train/01" --out "$T/bad.csv"
cp -r "$T/f" "$T/extra" && mkdir -p "$T/extra/val/zz" && cp "$T/f/val/00/"*.png "$T/extra/val/zz/"
expect_error "val class unknown to train" "class 'zz' is not one of the training classes" -- "$AMOD" train \
  --out "$T/x4" --data "$T/extra" --dataset imagefolder --img-size 16 --patch-size 4 --embed-dim 16 --depth 2 --heads 2 --epochs 1
finish test_imagefolder_cli
