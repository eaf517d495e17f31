#!/usr/bin/env bash
# Does mixed-precision (bf16) training cost accuracy? The same runs in float32 and in bf16
# (`amod train --precision bf16`: the linear layers' and attention's products in bfloat16,
# float32 master weights, optimizer, softmax, norms and loss), paired by seed, on Fashion-MNIST.
#
# Criterion, fixed before the first run: bf16 passes if the mean over the seeds of the paired
# difference in final test accuracy (bf16 - f32) is >= -0.5 percentage points. The 95 % t
# interval of that difference is reported beside it; an interval that lies above -0.5 pp is
# the stronger claim ("no worse than 0.5 pp"), one that straddles it says the seeds cannot tell.
#
# Writes docs/results/bf16_training.{md,csv} and the commands in bf16_training_commands.txt;
# the runs go to runs/bf16_training/ (replaced). One run at a time, on all threads.
#
# usage: experiments/bf16_training.sh
# env:   AMOD_BIN, DATA (data), OUT (runs/bf16_training), RESULTS (docs/results),
#        EPOCHS (2), SEEDS ("0 1 2"), MODEL_ARGS ("--model vit_tiny_mnist"), EXTRA_ARGS ("")
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
DATA=${DATA:-data}
OUT=${OUT:-runs/bf16_training}
RESULTS=${RESULTS:-docs/results}
EPOCHS=${EPOCHS:-2}
SEEDS=${SEEDS:-0 1 2}
read -r -a MODEL <<<"${MODEL_ARGS:---model vit_tiny_mnist}"
read -r -a EXTRA <<<"${EXTRA_ARGS:-}"

if [ -z "${AMOD_BIN:-}" ]; then
  cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build build -j2 --target amod >/dev/null
  AMOD_BIN=build/amod
fi
[ -f "$DATA/fashion-mnist/train-images-idx3-ubyte" ] || scripts/setup_data.sh "$DATA"

rm -rf "$OUT"
mkdir -p "$OUT" "$RESULTS"
commands="$RESULTS/bf16_training_commands.txt"
: >"$commands.tmp"
csv="$RESULTS/bf16_training.csv"
echo "seed,precision,test_acc,images_per_s" >"$csv.tmp"
for seed in $SEEDS; do
  for p in f32 bf16; do
    args=(train --data "$DATA" --dataset fashion-mnist "${MODEL[@]}" "${EXTRA[@]}" --epochs "$EPOCHS"
      --seed "$seed" --precision "$p" --out "$OUT/${p}_s$seed")
    echo "$AMOD_BIN ${args[*]}" >>"$commands.tmp"
    echo "[$(date +%H:%M:%S)] seed $seed $p" >&2
    "$AMOD_BIN" "${args[@]}" >"$OUT/${p}_s$seed.log" 2>&1
    # the last epoch's row of log.csv: test_acc is column 5, images_per_s column 7
    tail -n 1 "$OUT/${p}_s$seed/log.csv" |
      awk -F, -v s="$seed" -v p="$p" '{ printf "%s,%s,%s,%s\n", s, p, $5, $7 }' >>"$csv.tmp"
  done
done
mv "$commands.tmp" "$commands"
mv "$csv.tmp" "$csv"

# the paired differences, their mean and the 95 % t interval (t quantiles for 1..9 degrees of
# freedom; more seeds than 10 take the normal quantile)
awk -F, -v epochs="$EPOCHS" -v model="${MODEL[*]} ${EXTRA[*]}" '
  NR == 1 { next }
  { acc[$1, $2] = $3 * 100; ips[$1, $2] = $4; if (!($1 in seen)) { seen[$1] = 1; order[++n] = $1 } }
  END {
    split("12.706 4.303 3.182 2.776 2.571 2.447 2.365 2.306 2.262", t, " ")
    printf "# bf16 mixed-precision training vs float32 on Fashion-MNIST\n\n"
    printf "Model: `%s`, %d epochs, the defaults otherwise; paired by seed. Written by\n", model, epochs
    printf "`experiments/bf16_training.sh` (commands in bf16_training_commands.txt).\n\n"
    printf "Criterion, fixed before the run: bf16 passes if the mean paired difference in final test\n"
    printf "accuracy (bf16 - f32) is >= -0.5 pp; the 95 %% t interval is reported beside it.\n\n"
    printf "| seed | f32 test acc %% | bf16 test acc %% | bf16 - f32 (pp) | f32 img/s | bf16 img/s |\n"
    printf "|---|---|---|---|---|---|\n"
    for (i = 1; i <= n; i++) {
      s = order[i]; d[i] = acc[s, "bf16"] - acc[s, "f32"]; sum += d[i]
      printf "| %s | %.2f | %.2f | %+.2f | %.0f | %.0f |\n", s, acc[s, "f32"], acc[s, "bf16"], d[i], ips[s, "f32"], ips[s, "bf16"]
    }
    mean = sum / n
    for (i = 1; i <= n; i++) ss += (d[i] - mean) ^ 2
    if (n > 1) {
      sd = sqrt(ss / (n - 1)); q = (n - 1 <= 9) ? t[n - 1] : 1.96; half = q * sd / sqrt(n)
      printf "\nMean difference %+.2f pp, 95 %% interval [%+.2f, %+.2f] pp (t, %d degrees of freedom).\n", mean, mean - half, mean + half, n - 1
    } else {
      half = -1
      printf "\nMean difference %+.2f pp (one seed: no interval).\n", mean
    }
    verdict = mean >= -0.5 ? "**passes**" : "**fails**"
    printf "Criterion (mean >= -0.5 pp): %s.", verdict
    if (half >= 0) printf " The interval %s -0.5 pp.", (mean - half >= -0.5 ? "lies above" : "reaches below")
    printf "\n"
  }' "$csv" >"$RESULTS/bf16_training.md.tmp"
mv "$RESULTS/bf16_training.md.tmp" "$RESULTS/bf16_training.md"
cat "$RESULTS/bf16_training.md"
