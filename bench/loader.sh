#!/usr/bin/env bash
# The image-folder data path at 224 px: the loader alone (bench/loader_speed.c: training
# transform RandomResizedCrop + flip, and the eval transform) from JPEG files and from a pack,
# then DeiT-Tiny training images/s at batch 32 from each form, with the next batch decoded
# during the step (the default) and without (--no-prefetch), alternately (two rounds).
# Usage: bench/loader.sh [BUILD_DIR] [THREADS]   (needs /usr/bin/python3 with PIL and
# python3-skimage for the photographs: bench/make_photo_folder.py)
set -euo pipefail
B=${1:-build} THREADS=${2:-2}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
/usr/bin/python3 "$(dirname "$0")/make_photo_folder.py" "$T/photos"
"$B/amod" data pack --dir "$T/photos" --out "$T/pack" --size 256 >/dev/null
echo "machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) cores; commit $(git rev-parse --short HEAD)"
echo "photographs: 512 JPEG files of 500 x 375 ($(du -sh "$T/photos/train" | cut -f1)); pack at 256 px: $(du -sh "$T/pack/train.amodpack" | cut -f1)"
for form in photos pack photos pack; do "$B/loader_speed" "$T/$form" 224 "$THREADS" 32 16; done
for round in 1 2; do
  for form in photos pack; do
    for pf in --prefetch --no-prefetch; do
      "$B/amod" train --out "$T/run" --data "$T/$form" --dataset imagefolder --model deit_tiny_patch16_224 \
        --epochs 1 --batch-size 32 --augment --max-steps 8 --threads "$THREADS" --log-every 1 $pf 2>&1 >/dev/null |
        grep "step 8/" | sed "s|^|train from $form $pf: |"
      rm -rf "$T/run"
    done
  done
done
