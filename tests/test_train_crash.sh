#!/usr/bin/env bash
# Crash safety: `amod train` killed with SIGKILL at many points (with --ckpt-every 1 most of
# a tiny run's time is spent writing checkpoints, so many kills land inside a write), then
# resumed, until it completes. After every kill the checkpoint on disk is whole (RUN/last, or
# RUN/last.old when the kill fell between the two renames, which the next start restores),
# and the final weights and optimizer state equal those of an uninterrupted run, byte for byte.
set -u
. "$(dirname "$0")/support/common.sh"
. "$(dirname "$0")/support/tiny_idx.sh"
make_tiny_idx "$T/data/toy" 96 32
ARGS=(--data "$T/data" --dataset toy --img-size 8 --patch-size 2 --embed-dim 16 --depth 2 --heads 2
      --epochs 12 --batch-size 16 --lr 3e-3 --warmup-steps 2 --seed 5 --augment --threads 1 --quiet --ckpt-every 1)
t0=$(date +%s%N)
"$AMOD" train --out "$T/whole" "${ARGS[@]}" >/dev/null || fail "uninterrupted run"
# Kill delays are fractions of the uninterrupted run's time, so the test means the same on a
# fast machine and under a slow sanitizer build (fixed delays let a fast run finish unkilled).
whole_ms=$(( ($(date +%s%N) - t0) / 1000000 ))
[ $whole_ms -ge 20 ] || whole_ms=20

next_cmd() {
  if [ -d "$T/run/last" ] || [ -d "$T/run/last.old" ]; then cmd=("$AMOD" train --out "$T/run" --resume --quiet --threads 1)
  else rm -rf "$T/run"; cmd=("$AMOD" train --out "$T/run" "${ARGS[@]}"); fi
}
kills=0 during_write=0 finished=0
for attempt in $(seq 1 15); do
  next_cmd
  "${cmd[@]}" >/dev/null 2>"$T/err" &
  pid=$!
  delay_ms=$(( whole_ms * (3 + RANDOM % 18) / 100 ))
  sleep "$(printf '%d.%03d' $((delay_ms / 1000)) $((delay_ms % 1000)))"
  if kill -9 $pid 2>/dev/null; then
    wait $pid 2>/dev/null
    kills=$((kills+1))
    [ -d "$T/run/last.new" ] && during_write=$((during_write+1))
    # whatever the kill interrupted, a whole checkpoint is there
    ck="$T/run/last"; [ -d "$ck" ] || ck="$T/run/last.old"
    if [ -d "$ck" ]; then
      for f in model.safetensors optimizer.st trainer.json config.json; do
        [ -s "$ck/$f" ] || fail "after kill $kills: $ck/$f missing or empty"
      done
      "$AMOD" diff "$ck/model.safetensors" "$ck/model.safetensors" --quiet >/dev/null || fail "after kill $kills: $ck/model.safetensors unreadable"
    fi
  else
    wait $pid; rc=$?
    [ $rc -eq 0 ] || { fail "run ended with $rc: $(cat "$T/err")"; break; }
    finished=1
    break
  fi
done
# then let it finish (a slow, e.g. sanitizer, build may not have got there between kills)
if [ $finished -eq 0 ]; then
  next_cmd
  "${cmd[@]}" >/dev/null 2>"$T/err" || fail "final resume: $(cat "$T/err")"
fi
echo "killed $kills times ($during_write during a checkpoint write)"
[ $kills -ge 3 ] || fail "too few kills to mean anything ($kills)"
for f in model.safetensors optimizer.st; do
  cmp -s "$T/whole/last/$f" "$T/run/last/$f" && echo "ok   last/$f equals the uninterrupted run's" || fail "last/$f differs"
done
ls "$T/run" | grep -q '\.tmp$' && fail "temporary files left: $(ls "$T/run")"
finish test_train_crash
