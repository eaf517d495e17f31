#!/usr/bin/env bash
# The cluttered Fashion-MNIST image folder (amod data cluttered: 64 x 64 colour canvases with
# clutter) end to end, one seed: a dense ViT trained from scratch, adapted to A-MoD (C = 0.5),
# fine-tuned, each evaluated on the val folder. About 6 minutes on 2 cores.
# Usage: experiments/cluttered.sh [BUILD_DIR] [OUT_DIR]   (needs data/fashion-mnist: scripts/setup_data.sh)
set -euo pipefail
B=${1:-build} OUT=${2:-runs/cluttered}
A="$B/amod" D="$OUT/data" R="$OUT/runs"
rm -rf "$D" "$R" && mkdir -p "$R"
"$A" data cluttered --dir data/fashion-mnist --out "$D" --size 64 --per-class 1000 --test-per-class 200 --seed 1
M=(--data "$D" --dataset imagefolder --img-size 64 --patch-size 8 --embed-dim 96 --depth 6 --heads 3)
"$A" train --out "$R/dense" "${M[@]}" --epochs 12 --batch-size 64 --lr 2e-3 --augment --threads 2 --seed 1 --quiet
"$A" eval "$R/dense/best" --data "$D" --dataset imagefolder --split val
"$A" adapt "$R/dense/best" --out "$R/amod_c05" --router attention --capacity 0.5
"$A" eval "$R/amod_c05" --data "$D" --dataset imagefolder --split val
"$A" train --out "$R/amod_ft" --init "$R/amod_c05" --data "$D" --dataset imagefolder --epochs 3 --batch-size 64 \
  --lr 5e-4 --augment --threads 2 --seed 1 --quiet
"$A" eval "$R/amod_ft/best" --data "$D" --dataset imagefolder --split val --per-class
