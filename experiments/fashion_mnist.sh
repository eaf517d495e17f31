#!/usr/bin/env bash
# The A-MoD paper's adaptation experiments in miniature, on Fashion-MNIST, on a CPU:
#   1. pretrain a dense ViT;
#   2. adapt it to MoD WITHOUT training, with the attention router (A-MoD, no new parameters)
#      and the linear router (new, randomly initialised weights), at capacity 50% and 12.5%,
#      and evaluate the adapted checkpoints as they are;
#   3. fine-tune each adapted model briefly (and, as a control, the dense model as long);
#   4. train isoFLOP dense baselines (depth cut to match each capacity's FLOPs) from scratch
#      for as many steps as pretraining plus fine-tuning;
#   5. routing analysis of the fine-tuned C = 50% models (the paper's Fig. 4 and 5): routing
#      maps of a few test images, and the correlation of each router's scores with
#      leave-one-out token importance.
# Writes docs/results/fashion_mnist.{md,csv}, fashion_mnist_curves.csv, the plots
# fashion_mnist_acc_epoch.png and fashion_mnist_acc_flops.png, and fashion_mnist_routes.png,
# fashion_mnist_correlation.csv, fashion_mnist_{pearson,spearman}.png; the runs themselves go to
# runs/fashion_mnist/ (replaced).
# Two jobs run side by side, one thread each (two cores), niced for the other users.
#
# usage: experiments/fashion_mnist.sh
# env:   REPORT_ONLY=1 remakes the table and plots from an earlier $OUT without training;
#        AMOD_BIN, DATA (default data), DATASET (fashion-mnist), OUT (runs/fashion_mnist),
#        RESULTS (docs/results), PRE_EPOCHS (10), FT_EPOCHS (3), MODEL_ARGS (the model, below),
#        BATCH (128), NICE (10), IMPORTANCE_N (500 test images for the importance analysis)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
# the command as a user would retype it, with the settings that differ from the defaults
command_line="experiments/fashion_mnist.sh"
for v in DATA DATASET PRE_EPOCHS FT_EPOCHS MODEL_ARGS BATCH; do
  if [ -n "${!v+x}" ]; then command_line="$v=\"${!v}\" $command_line"; fi
done
DATA=${DATA:-data}
DATASET=${DATASET:-fashion-mnist}
OUT=${OUT:-runs/fashion_mnist}
RESULTS=${RESULTS:-docs/results}
PRE_EPOCHS=${PRE_EPOCHS:-10}
FT_EPOCHS=${FT_EPOCHS:-3}
BATCH=${BATCH:-128}
NICE=${NICE:-10}
IMPORTANCE_N=${IMPORTANCE_N:-500}
# 28x28 inputs, 4-pixel patches: 49 patches + CLS = 50 tokens; 6 blocks of width 64 (2 heads
# of 32). MoD layers 1, 3, 5 (every second block, the previous one dense, as A-MoD needs).
read -r -a MODEL <<<"${MODEL_ARGS:---model vit_tiny_mnist --embed-dim 64 --heads 2}"
CAPS=(0.5 0.125)
TAG=(c050 c0125)

if [ -z "${AMOD_BIN:-}" ]; then
  cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build build -j2 --target amod >/dev/null
  AMOD_BIN=build/amod
fi
AMOD=$AMOD_BIN
[ -f "$DATA/$DATASET/train-images-idx3-ubyte" ] || scripts/setup_data.sh "$DATA"

start=$(date +%s)
log() { echo "[$(date +%H:%M:%S) +$(( $(date +%s) - start ))s] $*" >&2; }

# train NAME ARGS...: a run in $OUT/NAME, its progress in $OUT/NAME.log, its CPU seconds
# (user, system) in $OUT/cpu.txt: on a shared machine the wall clock says little. `time` runs in
# a subshell of its own: in this shell it would also count the other slot's finished jobs.
train() {
  local name=$1; shift
  log "train $name"
  local TIMEFORMAT="$name %U %S"
  ( time nice -n "$NICE" "$AMOD" train --out "$OUT/$name" --data "$DATA" --dataset "$DATASET" --batch-size "$BATCH" \
    --threads 1 --log-every 100 --seed 0 "$@" >"$OUT/$name.log" 2>&1 ) 2>>"$OUT/cpu.txt" \
    || { cat "$OUT/$name.log" >&2; return 1; }
  tail -n 1 "$OUT/$name.log" >&2
}

# evaluate NAME CKPT: $OUT/eval/NAME.json
evaluate() {
  mkdir -p "$OUT/eval"
  local TIMEFORMAT="eval_$1 %U %S"
  ( time nice -n "$NICE" "$AMOD" eval "$2" --data "$DATA" --dataset "$DATASET" --threads 1 \
    --json "$OUT/eval/$1.json" >&3 2>&3 ) 3>&2 2>>"$OUT/cpu.txt"
}

PRE=(--lr 1e-3 --min-lr 1e-5 --weight-decay 0.05 --warmup-epochs 0.5 --clip 1)
FT=(--epochs "$FT_EPOCHS" --lr 2e-4 --min-lr 1e-6 --weight-decay 0.05 --warmup-steps 50 --clip 1)
ISO_EPOCHS=$((PRE_EPOCHS + FT_EPOCHS))

# Every run, then $OUT/wall_s.
run_all() {
  rm -rf "$OUT"
  mkdir -p "$OUT" "$RESULTS"

  # Second slot: the isoFLOP baselines do not need the pretrained model. The dense control
  # waits for it (the first slot pretrains it), then the slot ends with it.
  (
    for i in 0 1; do
      train "iso_depth_${TAG[$i]}" "${MODEL[@]}" --router attention --capacity "${CAPS[$i]}" --isoflop depth \
        --epochs "$ISO_EPOCHS" "${PRE[@]}"
    done
    while [ ! -f "$OUT/pretrain.done" ]; do
      [ -f "$OUT/pretrain.failed" ] && exit 1
      sleep 5
    done
    train dense_ft --init "$OUT/dense/last" "${FT[@]}"
  ) &
  slot=$!

  # First slot: pretraining, adaptation without training, fine-tuning.
  if ! train dense "${MODEL[@]}" --epochs "$PRE_EPOCHS" "${PRE[@]}"; then
    touch "$OUT/pretrain.failed"
    wait "$slot" || true
    exit 1
  fi
  touch "$OUT/pretrain.done"
  evaluate dense "$OUT/dense/last"
  for i in 0 1; do
    for router in attention linear; do
      name=${router}_${TAG[$i]}
      "$AMOD" adapt "$OUT/dense/last" --out "$OUT/adapted/$name" --router "$router" --capacity "${CAPS[$i]}" >&2
      evaluate "adapted_$name" "$OUT/adapted/$name"
    done
  done
  for i in 0 1; do
    for router in attention linear; do
      name=${router}_${TAG[$i]}
      train "ft_$name" --init "$OUT/adapted/$name" "${FT[@]}"
      evaluate "ft_$name" "$OUT/ft_$name/last"
    done
  done
  wait "$slot"
  evaluate dense_ft "$OUT/dense_ft/last"
  for i in 0 1; do evaluate "iso_depth_${TAG[$i]}" "$OUT/iso_depth_${TAG[$i]}/last"; done
  echo $(( $(date +%s) - start )) >"$OUT/wall_s"
  # what made these runs, for the results page
  {
    echo "command=$command_line"
    echo "commit=$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)$(git -C "$root" diff --quiet HEAD -- src include experiments 2>/dev/null || echo ' (with uncommitted changes)')"
    echo "machine=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1), $(nproc) cores, $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo)"
    echo "date=$(date -u '+%Y-%m-%d %H:%M UTC')"
  } >"$OUT/provenance.txt"
  log "all runs done"
}

[ -n "${REPORT_ONLY:-}" ] || run_all
mkdir -p "$RESULTS"
total=$(cat "$OUT/wall_s")
cpu_total=$(awk '{ s += $2 + $3 } END { printf "%.0f", s }' "$OUT/cpu.txt")

# ---- results table ----
# json FILE KEY: a number or string from amod eval's JSON (one key per line)
json() { sed -n "s/^[[:space:]]*\"$2\":[[:space:]]*\"\{0,1\}\([^\",]*\)\"\{0,1\},\{0,1\}$/\1/p" "$1" | head -n 1; }
steps() { sed -n 's/^[[:space:]]*"step":[[:space:]]*\([0-9]*\),*$/\1/p' "$1/last/trainer.json"; }
train_min() { awk -v n="$(basename "$1")" '$1 == n { printf "%.1f", ($2 + $3) / 60 }' "$OUT/cpu.txt"; }
dense_macs=$(json "$OUT/eval/dense.json" macs_per_image)
pre_steps=$(steps "$OUT/dense")
# Everything is made in $OUT first and copied into $RESULTS at the end (tmp + rename).
csv=$OUT/fashion_mnist.csv
echo "name,method,stage,router,capacity,depth,gmacs,rel_flops,train_steps,train_cpu_minutes,test_acc,test_loss" >"$csv"
row() { # row NAME METHOD STAGE EVAL_JSON TRAIN_STEPS TRAIN_CPU_MINUTES
  local j=$OUT/eval/$4.json macs
  macs=$(json "$j" macs_per_image)
  awk -v n="$1" -v m="$2" -v s="$3" -v r="$(json "$j" router)" -v c="$(json "$j" capacity)" -v d="$(json "$j" depth)" \
    -v macs="$macs" -v dm="$dense_macs" -v st="$5" -v tm="$6" -v a="$(json "$j" accuracy)" -v l="$(json "$j" loss)" \
    'BEGIN { printf "%s,%s,%s,%s,%g,%d,%.5f,%.3f,%s,%s,%.4f,%.4f\n", n, m, s, r, c, d, macs / 1e9, macs / dm, st, tm, a * 100, l }' >>"$csv"
}
row dense dense pretrained dense "$pre_steps" "$(train_min "$OUT/dense")"
row dense_ft dense "+fine-tuned" dense_ft "$(steps "$OUT/dense_ft")" "$(train_min "$OUT/dense_ft")"
for i in 0 1; do
  for router in attention linear; do
    name=${router}_${TAG[$i]}
    method=$([ "$router" = attention ] && echo A-MoD || echo "linear MoD")
    row "adapted_$name" "$method" adapted "adapted_$name" "$pre_steps" "$(train_min "$OUT/dense")"
    row "ft_$name" "$method" "+fine-tuned" "ft_$name" "$(steps "$OUT/ft_$name")" "$(train_min "$OUT/ft_$name")"
  done
  row "iso_depth_${TAG[$i]}" "isoFLOP dense (depth) for C ${CAPS[$i]}" "from scratch" "iso_depth_${TAG[$i]}" \
    "$(steps "$OUT/iso_depth_${TAG[$i]}")" "$(train_min "$OUT/iso_depth_${TAG[$i]}")"
done

# ---- curves: test accuracy after each epoch, epochs counted from the start of pretraining ----
curves=$OUT/fashion_mnist_curves.csv
echo "run,epoch,test_acc" >"$curves"
curve() { awk -F, -v run="$1" -v off="$2" 'NR > 1 && $5 != "" { printf "%s,%d,%.4f\n", run, $1 + off, $5 * 100 }' "$3" >>"$curves"; }
curve dense 0 "$OUT/dense/log.csv"
for r in dense_ft ft_attention_c050 ft_linear_c050 ft_attention_c0125 ft_linear_c0125; do
  [ "$r" = dense_ft ] && a=$(json "$OUT/eval/dense.json" accuracy) || a=$(json "$OUT/eval/adapted_${r#ft_}.json" accuracy)
  awk -v run="$r" -v e="$PRE_EPOCHS" -v a="$a" 'BEGIN { printf "%s,%d,%.4f\n", run, e, a * 100 }' >>"$curves"
  curve "$r" "$PRE_EPOCHS" "$OUT/$r/log.csv"
done
for t in "${TAG[@]}"; do curve "iso_depth_$t" 0 "$OUT/iso_depth_$t/log.csv"; done

s() { echo "$1=$curves:epoch:test_acc:run=$2"; }
"$AMOD" plot --out "$RESULTS/fashion_mnist_acc_epoch.png" --title "Fashion-MNIST: test accuracy" \
  --x-label "epoch (pretraining, then fine-tuning)" --y-label "top-1 (%)" \
  --series "$(s "dense" dense)" --series "$(s "dense +ft" dense_ft)" \
  --series "$(s "A-MoD 50%" ft_attention_c050)" --series "$(s "linear 50%" ft_linear_c050)" \
  --series "$(s "A-MoD 12.5%" ft_attention_c0125)" --series "$(s "linear 12.5%" ft_linear_c0125)" \
  --series "$(s "isoFLOP 50%" iso_depth_c050)" --series "$(s "isoFLOP 12.5%" iso_depth_c0125)"
# Accuracy against FLOPs: each router's capacities with the dense model as its C = 1 point
# (the pretrained one for "no training", the fine-tuned one for "fine-tuned"), and the
# isoFLOP baselines with the dense model of the same step count; sorted by FLOPs per series.
points=$OUT/acc_flops.csv
{
  echo "series,gmacs,test_acc"
  awk -F, 'NR > 1 {
    if ($3 == "pretrained") { print "A-MoD no training," $7 "," $11; print "linear no training," $7 "," $11 }
    else if ($1 == "dense_ft") { print "A-MoD fine-tuned," $7 "," $11; print "linear fine-tuned," $7 "," $11
                                 print "isoFLOP dense," $7 "," $11 }
    else if ($3 == "adapted") print ($4 == "attention" ? "A-MoD" : "linear") " no training," $7 "," $11
    else if ($3 == "+fine-tuned") print ($4 == "attention" ? "A-MoD" : "linear") " fine-tuned," $7 "," $11
    else print "isoFLOP dense," $7 "," $11 }' "$csv" | sort -t, -k1,1 -k2,2g
} >"$points"
f() { echo "$1=$points:gmacs:test_acc:series=$1"; }
"$AMOD" plot --out "$RESULTS/fashion_mnist_acc_flops.png" --title "Fashion-MNIST: accuracy vs FLOPs" \
  --x-label "GMACs per image" --y-label "top-1 (%)" \
  --series "$(f "A-MoD no training")" --series "$(f "linear no training")" \
  --series "$(f "A-MoD fine-tuned")" --series "$(f "linear fine-tuned")" --series "$(f "isoFLOP dense")"

# ---- routing analysis of the fine-tuned C = 50% models (cheap: also made with REPORT_ONLY) ----
ra_start=$(date +%s)
routed=("$OUT/ft_attention_c050/last" "$OUT/ft_linear_c050/last")
# checkpoints are named by their directory in the pictures and the CSV
mkdir -p "$OUT/analysis"
for r in attention linear; do
  rm -rf "$OUT/analysis/${r}_c050"
  cp -r "$OUT/ft_${r}_c050/last" "$OUT/analysis/${r}_c050"
done
"$AMOD" route "$OUT/analysis/attention_c050" "$OUT/analysis/linear_c050" --data "$DATA/$DATASET" --index 0,1,2,3,4,5 \
  --out "$RESULTS/fashion_mnist_routes.png" --dump "$OUT/analysis/routes.csv" >&2
"$AMOD" importance "$OUT/analysis/attention_c050" "$OUT/analysis/linear_c050" --data "$DATA/$DATASET" \
  --n "$IMPORTANCE_N" --out-dir "$OUT/analysis/importance" >&2
for f in correlation.csv pearson.png spearman.png; do
  cp "$OUT/analysis/importance/$f" "$RESULTS/fashion_mnist_$f.tmp"
  mv "$RESULTS/fashion_mnist_$f.tmp" "$RESULTS/fashion_mnist_$f"
done
ra_s=$(( $(date +%s) - ra_start ))

# ---- the page ----
md=$OUT/fashion_mnist.md
{
  echo "# Fashion-MNIST: A-MoD vs linear MoD, in miniature"
  echo
  prov() { sed -n "s/^$1=//p" "$OUT/provenance.txt" 2>/dev/null; }
  echo "- command: \`$(prov command)\`"
  echo "- commit: $(prov commit)"
  echo "- machine: $(prov machine)"
  echo "- date: $(prov date)"
  echo
  echo "Made by \`experiments/fashion_mnist.sh\` in $((total / 60)) min $((total % 60)) s of wall time and"
  echo "$((cpu_total / 60)) min of CPU time: two runs side by side, one thread each, on a machine with $(nproc) cores that"
  echo "gave them $(awk -v c="$cpu_total" -v t="$total" -v n="$(nproc)" 'BEGIN { if (t > 0) printf "%.0f", 100 * c / (t * n); else printf "?" }')% of its CPU time. Model: \`${MODEL[*]}\`; MoD layers 1, 3, 5. Dense pretraining: $PRE_EPOCHS epochs, batch $BATCH,"
  echo "AdamW lr 1e-3, cosine. Fine-tuning: $FT_EPOCHS epoch(s), lr 2e-4. isoFLOP baselines: the dense model"
  echo "with depth cut to the MoD model's FLOPs, trained from scratch for $ISO_EPOCHS epochs, the steps of"
  echo "pretraining plus fine-tuning. Accuracy is top-1 on the $DATASET test split ($(json "$OUT/eval/dense.json" count) images)."
  echo
  echo "| model | stage | capacity | depth | GMACs/img | FLOPs vs dense | train steps | train CPU min | top-1 (%) | loss |"
  echo "|---|---|---|---|---|---|---|---|---|---|"
  awk -F, 'NR > 1 { printf "| %s | %s | %s | %s | %.4f | %.0f%% | %s | %s | %.2f | %.4f |\n", $2, $3, $5, $6, $7, $8 * 100, $9, $10, $11, $12 }' "$csv"
  echo
  echo "\"adapted\" rows are the dense checkpoint with MoD routing switched on and no training at all."
  echo "Train steps and CPU minutes are those of the row's own run (adapted rows: the pretraining's)."
  echo
  echo "![accuracy vs epoch](fashion_mnist_acc_epoch.png)"
  echo
  echo "![accuracy vs FLOPs](fashion_mnist_acc_flops.png)"
  echo
  echo "## Routing of the fine-tuned C = 50% models"
  echo
  echo "Made after the runs above in ${ra_s} s (\`amod route\`, \`amod importance --n $IMPORTANCE_N\`). Each row: a test"
  echo "image, then each MoD layer with the patches it skipped whitened (top rows A-MoD, bottom rows linear)."
  echo
  echo "![routing maps](fashion_mnist_routes.png)"
  echo
  echo "Correlation of router scores with leave-one-out token importance (the change in the dense"
  echo "model's loss when the token is removed), over all patches of the first $IMPORTANCE_N test images:"
  echo
  echo "| router | MoD layer | tokens | Pearson r | p | Spearman rho | p |"
  echo "|---|---|---|---|---|---|---|"
  awk -F, 'NR > 1 { printf "| %s | %s | %s | %.3f | %.2g | %.3f | %.2g |\n", $2 == "attention" ? "A-MoD" : $2, $4, $5, $6, $7, $8, $9 }' \
    "$RESULTS/fashion_mnist_correlation.csv"
  echo
  echo "![Spearman](fashion_mnist_spearman.png)"
} >"$md"
for f in "$csv" "$curves" "$md"; do
  cp "$f" "$RESULTS/$(basename "$f").tmp"
  mv "$RESULTS/$(basename "$f").tmp" "$RESULTS/$(basename "$f")"
done
log "wrote $RESULTS/fashion_mnist.{md,csv}, fashion_mnist_curves.csv and the plots"
