#!/usr/bin/env bash
# Run directories that cannot be clobbered (issue 14), one check per finding: --max-steps
# below the checkpoint, --seed, a symbolic-link checkpoint, two runs on one directory, a
# finished model in OUT, signals, other data on --resume, absurd --threads, write errors on
# standard output, unclear messages, values accepted silently.
set -u
. "$(dirname "$0")/support/common.sh"
for i in $(seq 1 300); do echo "a quick brown fox $((i % 5)) jumps over the lazy dog $((i % 3))."; done >"$T/corpus.txt"
SMALL=(--layers 2 --width 32 --heads 2 --ff 64 --context 32 --seq 16 --batch 4 --log-every 5 --lr 3e-3 --warmup 3
       --threads 1)
lm() { "$AMOD" train-lm "$@" >"$T/stdout" 2>"$T/stderr"; }

# 1. --resume --max-steps K below the checkpoint's step: refused before anything is written
lm "$T/r1" --data "$T/corpus.txt" "${SMALL[@]}" --steps 20 --max-steps 10 || fail "1: first part"
before=$(md5sum "$T/r1/last/trainer.json" "$T/r1/last/model.safetensors")
expect_error "1: --max-steps below the checkpoint" "max-steps 5 is not beyond the step .* \(10\)" -- \
  "$AMOD" train-lm "$T/r1" --resume --max-steps 5
[ "$before" = "$(md5sum "$T/r1/last/trainer.json" "$T/r1/last/model.safetensors")" ] || fail "1: last/ changed"
[ ! -e "$T/r1/model.safetensors" ] || fail "1: a final model was written"
lm "$T/r1" --resume && ok "1: the run still resumes" || fail "1: resume after the refusal: $(cat "$T/stderr")"

# 2. --seed seeds initialisation and data order, and is recorded
lm "$T/s1" --data "$T/corpus.txt" "${SMALL[@]}" --steps 2 --seed 1 || fail "2: seed 1"
lm "$T/s2" --data "$T/corpus.txt" "${SMALL[@]}" --steps 2 --seed 2 --ckpt-every 2 || fail "2: seed 2"
lm "$T/s2b" --data "$T/corpus.txt" "${SMALL[@]}" --steps 2 --seed 2 || fail "2: seed 2 again"
if cmp -s "$T/s1/model.safetensors" "$T/s2/model.safetensors"; then fail "2: seeds 1 and 2 give the same model"
else ok "2: seeds 1 and 2 give different models"; fi
cmp -s "$T/s2/model.safetensors" "$T/s2b/model.safetensors" && ok "2: the same seed gives the same model" \
  || fail "2: seed 2 twice differs"
grep -q '"seed":[[:space:]]*"0x0*2"' "$T/s2/last/trainer.json" && ok "2: trainer.json records the seed" \
  || fail "2: seed not recorded: $(grep seed "$T/s2/last/trainer.json")"

# 3. last/ a symbolic link: refused, and nothing outside the run directory is touched
mkdir -p "$T/elsewhere" && echo keep >"$T/elsewhere/precious"
lm "$T/r3" --data "$T/corpus.txt" "${SMALL[@]}" --steps 6 --max-steps 3 || fail "3: first part"
rm -rf "$T/r3/last" && ln -s "$T/elsewhere" "$T/r3/last"
expect_error "3: last is a symbolic link" "last is a symbolic link" -- "$AMOD" train-lm "$T/r3" --resume
[ -f "$T/elsewhere/precious" ] && [ -L "$T/r3/last" ] && ok "3: the link and its target are intact" \
  || fail "3: the link's target was touched"
mkdir -p "$T/r3b" && ln -s "$T/elsewhere" "$T/r3b/last.old"
expect_error "3: last.old is a symbolic link" "last.old is a symbolic link" -- \
  "$AMOD" train-lm "$T/r3b" --data "$T/corpus.txt" "${SMALL[@]}" --steps 2 --ckpt-every 1
[ -f "$T/elsewhere/precious" ] || fail "3: last.old's target was emptied"

# 4. one run per directory: a held lock refuses a second train-lm and train, and --resume
mkdir -p "$T/r4"
if command -v flock >/dev/null; then
  flock "$T/r4/.amod.lock" sh -c "echo 'pid 12345, amod train-lm' >'$T/r4/.amod.lock'; sleep 3" &
  holder=$!
  sleep 0.5
  expect_error "4: train-lm on a locked directory" "r4 is in use by another amod \(pid 12345" -- \
    "$AMOD" train-lm "$T/r4" --data "$T/corpus.txt" "${SMALL[@]}" --steps 2
  expect_error "4: train on a locked directory" "r4 is in use by another amod" -- \
    "$AMOD" train --out "$T/r4" --data "$FIX/../none" --model vit_tiny_mnist
  expect_error "4: --resume on a locked directory" "r4 is in use by another amod" -- "$AMOD" train-lm "$T/r4" --resume
  wait $holder
  lm "$T/r4" --data "$T/corpus.txt" "${SMALL[@]}" --steps 2 && ok "4: free again once the holder exits" \
    || fail "4: after the holder: $(cat "$T/stderr")"
else
  echo "skip 4: no flock(1)"
fi
# a live amod holding the directory is named by its pid
"$AMOD" train-lm "$T/r4b" --data "$T/corpus.txt" "${SMALL[@]}" --steps 100000 --log-every 1 >"$T/bg.out" 2>&1 &
bg=$!
for _ in $(seq 100); do grep -q "^step" "$T/bg.out" 2>/dev/null && break; sleep 0.1; done
expect_error "4: a running train-lm is named" "r4b is in use by another amod \(pid $bg, amod train-lm\)" -- \
  "$AMOD" train-lm "$T/r4b" --resume

# 6. SIGTERM: a checkpoint after the current step, the resume command, status 128 + 15
kill -TERM $bg
wait $bg
rc=$?
[ $rc -eq 143 ] && ok "6: SIGTERM gives status 143" || fail "6: status $rc after SIGTERM"
grep -q "interrupted by signal 15 at step [0-9]*; .*r4b/last is kept: continue with amod train-lm .*r4b --resume" \
  "$T/bg.out" && ok "6: says how to resume" || fail "6: message: $(tail -2 "$T/bg.out")"
[ -f "$T/r4b/last/trainer.json" ] || fail "6: no checkpoint after SIGTERM"
# an interrupted and resumed run equals an uninterrupted one
"$AMOD" train-lm "$T/r6" --data "$T/corpus.txt" "${SMALL[@]}" --steps 400 --log-every 1 >"$T/r6.out" 2>&1 &
pid=$!
for _ in $(seq 200); do grep -q "^step" "$T/r6.out" 2>/dev/null && break; sleep 0.05; done
kill -INT $pid
wait $pid
rc=$?
if [ $rc -eq 130 ]; then
  lm "$T/r6" --resume || fail "6: resume after SIGINT: $(cat "$T/stderr")"
  lm "$T/r6w" --data "$T/corpus.txt" "${SMALL[@]}" --steps 400 || fail "6: uninterrupted"
  cmp -s "$T/r6/model.safetensors" "$T/r6w/model.safetensors" && ok "6: SIGINT + resume = uninterrupted, bit for bit" \
    || fail "6: the resumed model differs from the uninterrupted one"
else
  [ $rc -eq 0 ] && echo "skip 6b: the run finished before the signal" || fail "6: status $rc after SIGINT"
fi

# 5. a finished model in OUT is not overwritten without --force
cp "$T/s1/model.safetensors" "$T/s1.model"
expect_error "5: a finished model in OUT" "holds a trained model .*--force" -- \
  "$AMOD" train-lm "$T/s1" --data "$T/corpus.txt" "${SMALL[@]}" --steps 2 --seed 5
cmp -s "$T/s1.model" "$T/s1/model.safetensors" || fail "5: the model changed"
lm "$T/s1" --data "$T/corpus.txt" "${SMALL[@]}" --steps 2 --seed 5 --force && ok "5: --force replaces it" \
  || fail "5: --force: $(cat "$T/stderr")"

# 7. --resume with other data: refused, naming both
head -c 20000 /dev/urandom >"$T/random.bin"
expect_error "7: --resume --data other bytes" "random.bin: [0-9]+ bytes .* but the run in .* trained on [0-9]+ bytes .*resume with the same corpus" -- \
  "$AMOD" train-lm "$T/r1" --resume --data "$T/random.bin"
lm "$T/r7" --data "$T/corpus.txt" "${SMALL[@]}" --steps 4 --max-steps 2 || fail "7: first part"
cp "$T/corpus.txt" "$T/corpus2.txt" && echo "one more line" >>"$T/corpus2.txt"
expect_error "7: --resume --data a longer file" "corpus2.txt: .*resume with the same corpus" -- \
  "$AMOD" train-lm "$T/r7" --resume --data "$T/corpus2.txt"

# 8. --threads far above the cores: refused at once; a few above: a warning
many=$((4 * $(nproc) + 1))
expect_error "8: --threads $many on $(nproc) cores (train-lm)" "threads $many is more than" -- \
  "$AMOD" train-lm "$T/r8" --data "$T/corpus.txt" --steps 2 --threads $many
expect_error "8: --threads 256 (train)" "threads 256 is more than" -- \
  "$AMOD" train --out "$T/r8b" --threads 256
expect_error "8: --threads 256 (bench)" "threads 256 is more than" -- "$AMOD" bench --threads 256 --quick
[ ! -e "$T/r8" ] && [ ! -e "$T/r8b" ] || fail "8: a refused command left a directory"
"$AMOD" eval "$T/none" --threads $(($(nproc) + 1)) 2>"$T/stderr" >/dev/null
grep -q "warning: --threads $(($(nproc) + 1)) is more than the $(nproc) cores" "$T/stderr" \
  && ok "8: a warning above the core count" || fail "8: no warning: $(cat "$T/stderr")"

# 9. write errors on standard output
if [ -w /dev/full ]; then
  expect_error "9: amod flops > /dev/full" "cannot write standard output" -- sh -c "'$AMOD' flops deit_tiny_patch16_224 >/dev/full"
  expect_error "9: amod version > /dev/full" "cannot write standard output" -- sh -c "'$AMOD' version >/dev/full"
  printf 'hi' >"$T/prompt.txt"
  expect_error "9: amod generate > /dev/full" "cannot write standard output" -- \
    sh -c "'$AMOD' generate '$T/s2' --prompt-file '$T/prompt.txt' --tokens 4 >/dev/full"
else
  echo "skip 9: no /dev/full"
fi

# 10. messages that name the real problem
expect_error "10: an unknown option given last (bench)" "unknown option '--bogus'" -- "$AMOD" bench --bogus
expect_error "10: an unknown option given last (train)" "unknown option '--bogus'" -- "$AMOD" train --out "$T/x" --bogus
[ ! -e "$T/x" ] || fail "10: a refused train left its directory"

# 10. (ViT) messages that name the file or option at fault
. "$(dirname "$0")/support/tiny_idx.sh"
make_tiny_idx "$T/data/toy" 96 32
VIT=(--data "$T/data" --dataset toy --img-size 8 --patch-size 2 --embed-dim 16 --depth 2 --heads 2 --epochs 3
     --batch-size 16 --threads 1 --quiet)
"$AMOD" train --out "$T/v1" "${VIT[@]}" --max-steps 2 >/dev/null || fail "10: a tiny ViT run"
cp "$T/v1/last/trainer.json" "$T/v1.json"
if command -v flock >/dev/null; then # 4. amod adapt's output directory is locked too
  mkdir -p "$T/a4"
  flock "$T/a4/.amod.lock" sleep 2 &
  holder=$!
  sleep 0.3
  expect_error "4: adapt into a locked directory" "a4 is in use by another amod" -- \
    "$AMOD" adapt "$T/v1/last" --out "$T/a4" --router attention --capacity 0.5
  wait $holder
  "$AMOD" adapt "$T/v1/last" --out "$T/a4" --router attention --capacity 0.5 >/dev/null \
    && ok "4: adapt once the lock is free" || fail "4: adapt after the holder"
fi
expect_error "4: adapt from a missing checkpoint leaves no directory" "config.json: cannot open" -- \
  "$AMOD" adapt "$T/none" --out "$T/a5" --router attention
[ ! -e "$T/a5" ] || fail "4: a refused adapt left its output directory"
sed -i 's/"epoch_pos":[^,]*/"epoch_pos": 33/' "$T/v1/last/trainer.json"
expect_error "10: an odd epoch_pos in trainer.json" "trainer.json: state.epoch_pos 33 is not a multiple of config.batch_size 16" -- \
  "$AMOD" train --out "$T/v1" --resume
cp "$T/v1.json" "$T/v1/last/trainer.json"
sed -i 's/"epoch":[^,]*/"epoch": 50/' "$T/v1/last/trainer.json"
expect_error "11: \"epoch\": 50 in trainer.json" "trainer.json: state.epoch 50 is beyond config.epochs 3" -- \
  "$AMOD" train --out "$T/v1" --resume
cp "$T/v1.json" "$T/v1/last/trainer.json"
expect_error "10: --img-size 30 with patch 4" "image size 30 is not a multiple of the patch size 4" -- \
  "$AMOD" train --out "$T/v2" --data "$T/data" --dataset toy --img-size 30 --patch-size 4 --embed-dim 32 --heads 2
LC_ALL=C awk 'BEGIN { printf "%c%c%c%c%c%c%c%c%c%c%c%c%c%c%c%c", 0,0,8,3, 0,0,0,32, 0,0,0,8, 0,0,0,8;
  for (i = 0; i < 32 * 64; i++) printf "%c", 77 }' >"$T/data/flat-train-images-idx3-ubyte"
mkdir -p "$T/data/flat" && mv "$T/data/flat-train-images-idx3-ubyte" "$T/data/flat/train-images-idx3-ubyte"
cp "$T/data/toy/train-labels-idx1-ubyte" "$T/data/flat/" 2>/dev/null
head -c 8 "$T/data/toy/train-labels-idx1-ubyte" >/dev/null
LC_ALL=C awk 'BEGIN { printf "%c%c%c%c%c%c%c%c", 0,0,8,1, 0,0,0,32; for (i = 0; i < 32; i++) printf "%c", i % 4 }' \
  >"$T/data/flat/train-labels-idx1-ubyte"
cp "$T/data/flat/train-images-idx3-ubyte" "$T/data/flat/t10k-images-idx3-ubyte"
cp "$T/data/flat/train-labels-idx1-ubyte" "$T/data/flat/t10k-labels-idx1-ubyte"
expect_error "10: constant images" "training images all have one value" -- \
  "$AMOD" train --out "$T/v3" --data "$T/data" --dataset flat --img-size 8 --patch-size 2 --embed-dim 16 --heads 2
expect_error "10: data show past the end" "index 96, the split has 96 images" -- \
  "$AMOD" data show --dir "$T/data/toy" --index 96
cp -r "$T/v1/last" "$T/v4"
sed -i 's/"mod_layers":[^]]*\]/"mod_layers": [1, 1]/; s/"router":[^,]*/"router": "attention"/' "$T/v4/config.json"
grep -q '"mod_layers": \[1, 1\]' "$T/v4/config.json" || sed -i 's/}$/, "mod": {"router": "attention", "capacity": 0.5, "mod_layers": [1, 1]}}/' "$T/v4/config.json"
expect_error "11: mod_layers [1, 1] in config.json" "config.json: mod.mod_layers lists layer 1 twice" -- \
  "$AMOD" eval "$T/v4" --data "$T/data" --dataset toy
deep=$T/$(printf 'dir/%.0s' $(seq 1 400))ckpt
expect_error "10: a long path keeps its reason" "\.\.\..*config.json: cannot open: No such file or directory" -- \
  "$AMOD" eval "$deep" --data "$T/data" --dataset toy

# 11. accepted silently before
expect_error "11: --min-lr above --lr" "min-lr in \[0, --lr\]" -- "$AMOD" train --out "$T/x" --lr 1e-4 --min-lr 1e-3
expect_error "11: amod version --bogus" "unknown option '--bogus'" -- "$AMOD" version --bogus
expect_error "11: --min-lr-ratio above 1" "min-lr-ratio in \[0, 1\]" -- \
  "$AMOD" train-lm "$T/x" --data "$T/corpus.txt" --steps 10 --min-lr-ratio 2
sed -i 's/"min_lr":[^,]*/"min_lr": 1/' "$T/r7/last/trainer.json"
expect_error "11: trainer.json min_lr above lr" "trainer.json: config.min_lr 1 is above config.lr" -- \
  "$AMOD" train-lm "$T/r7" --resume

finish test_run_safety
