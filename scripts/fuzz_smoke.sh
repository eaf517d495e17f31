#!/usr/bin/env bash
# Builds the libFuzzer targets (clang, ASan + UBSan, build-fuzz/) and runs each one for a short
# while from its seeds in fuzz/seeds/: a smoke test that the targets work and that nothing
# shallow crashes. Long runs use the same script: FUZZ_SECONDS=600 FUZZ_TARGETS=idx.
# One fuzzer process at a time (no -jobs/-fork); run it under `nice` on a shared machine.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${FUZZ_SECONDS:-15}
read -r -a targets <<<"${FUZZ_TARGETS:-safetensors config idx image pack filelist tokenizer_json tiktoken encode}"

CC=clang cmake -S . -B build-fuzz -DAMOD_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build-fuzz -j "$(nproc)" --target "${targets[@]/#/fuzz_}" >/dev/null

for t in "${targets[@]}"; do
  corpus=build-fuzz/corpus/$t findings=build-fuzz/findings/$t log=build-fuzz/fuzz_$t.log
  mkdir -p "$corpus" "$findings"
  opts=(-max_total_time="$secs" -timeout=60 -rss_limit_mb=2048 -print_final_stats=1
        -artifact_prefix="$findings/")
  [ -f "fuzz/dict/$t.dict" ] && opts+=(-dict="fuzz/dict/$t.dict")
  # The first folder collects new inputs (kept between runs); the seeds are only read.
  if ! "build-fuzz/fuzz/fuzz_$t" "${opts[@]}" "$corpus" "fuzz/seeds/$t" >"$log" 2>&1; then
    tail -n 40 "$log"
    echo "fuzz_smoke: fuzz_$t found a problem; the input is in $findings/ (log: $log)" >&2
    exit 1
  fi
  stat() { sed -n "s/^stat::$1: *//p" "$log"; }
  echo "fuzz_$t: $(stat number_of_executed_units) runs in ${secs}s, $(stat average_exec_per_sec) exec/s," \
       "$(stat new_units_added) new inputs, peak RSS $(stat peak_rss_mb) MB"
done
