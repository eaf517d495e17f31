#!/usr/bin/env bash
# Fault injection over a short amod train-lm run (issue 14), in builds with AMOD_FAULT_INJECTION
# (the sanitizer build): for every N, the Nth file operation (create, write, fsync, rename,
# mkdir) fails, then a sample of the allocations. After each failure the command must have
# exited non-zero with one line on stderr, and the run directory must still finish: --resume
# from the checkpoint left (or a fresh run when there is none) ends with the same model bytes
# as a run without faults. FAULT_SWEEP_ALLOC_STRIDE (default: about 40 points) sets how many
# allocations are tried; 1 tries every one (the long form, docs/HARDENING.md).
set -u
. "$(dirname "$0")/support/common.sh"
if ! "$AMOD" version --verbose | grep -q "fault injection: built in"; then
  echo "skip: this build has no fault injection (configure with -DAMOD_FAULT_INJECTION=ON)"
  exit 0
fi
for i in $(seq 1 200); do echo "a quick brown fox $((i % 5)) jumps over the lazy dog $((i % 3))."; done >"$T/corpus.txt"
RUN=(--data "$T/corpus.txt" --layers 1 --width 16 --heads 2 --ff 32 --context 16 --seq 8 --batch 2 --steps 6
     --ckpt-every 2 --warmup 1 --log-every 100 --threads 1)
"$AMOD" train-lm "$T/ref" "${RUN[@]}" >/dev/null 2>&1 || { fail "reference run"; finish test_fault_sweep; exit; }
AMOD_FAULT_REPORT=1 "$AMOD" train-lm "$T/count" "${RUN[@]}" >/dev/null 2>"$T/count.err"
io=$(sed -n 's/.*: \([0-9]*\) file operations, \([0-9]*\) allocations/\1/p' "$T/count.err")
allocs=$(sed -n 's/.*: \([0-9]*\) file operations, \([0-9]*\) allocations/\2/p' "$T/count.err")
[ -n "$io" ] && [ "$io" -gt 10 ] || { fail "counting: $(cat "$T/count.err")"; finish test_fault_sweep; exit; }

# one_fault KIND N: the run with that fault, then its recovery
tried=0 failed_cleanly=0 recovered=0 unaffected=0
one_fault() {
  local var=$1 n=$2 dir=$T/run rc lines
  rm -rf "$dir"
  env "$var=$n" "$AMOD" train-lm "$dir" "${RUN[@]}" >"$T/out" 2>"$T/err"
  rc=$?
  tried=$((tried + 1))
  if [ $rc -eq 0 ]; then
    unaffected=$((unaffected + 1))
  else
    lines=$(wc -l <"$T/err")
    if [ $rc -ge 128 ] || [ "$lines" -ne 1 ] || ! grep -q "^amod train-lm: " "$T/err"; then
      fail "$var=$n: status $rc, stderr: $(head -c 400 "$T/err")"
      return
    fi
    if grep -q "/last" "$T/err" && ! grep -qE "last \(step [0-9]+\) is kept|no checkpoint was kept" "$T/err"; then
      fail "$var=$n: a checkpoint failure does not say what is kept: $(cat "$T/err")"
      return
    fi
    failed_cleanly=$((failed_cleanly + 1))
    if [ -d "$dir/last" ] || [ -d "$dir/last.old" ]; then
      "$AMOD" train-lm "$dir" --resume --threads 1 >/dev/null 2>"$T/err2" || { fail "$var=$n: resume: $(cat "$T/err2")"; return; }
    else
      rm -rf "$dir"
      "$AMOD" train-lm "$dir" "${RUN[@]}" >/dev/null 2>"$T/err2" || { fail "$var=$n: fresh run: $(cat "$T/err2")"; return; }
    fi
  fi
  if cmp -s "$dir/model.safetensors" "$T/ref/model.safetensors"; then recovered=$((recovered + 1))
  else fail "$var=$n: the finished model differs from the reference (exit $rc: $(cat "$T/err"))"; fi
}

for n in $(seq 1 "$io"); do one_fault AMOD_FAULT_IO_AT "$n"; done
echo "file operations: $io tried, $failed_cleanly failed with one line, $unaffected unaffected, $recovered finished identical"
io_tried=$tried
stride=${FAULT_SWEEP_ALLOC_STRIDE:-$(( (allocs + 39) / 40 ))}
tried=0 failed_cleanly=0 recovered=0 unaffected=0
for n in $(seq 1 "$stride" "$allocs"); do one_fault AMOD_FAULT_ALLOC_AT "$n"; done
echo "allocations: $tried of $allocs tried (every $stride), $failed_cleanly failed with one line, $unaffected unaffected, $recovered finished identical"
[ "$io_tried" -eq "$io" ] || fail "not every file operation was tried"
finish test_fault_sweep
