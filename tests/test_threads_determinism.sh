#!/usr/bin/env bash
# Results do not depend on the thread count (docs/TRAINING.md): a ViT and a language model
# trained with 1 and with 2 threads end with the same model bytes (the packed products split
# rows over the threads, and each row's sums keep their order).
set -u
. "$(dirname "$0")/support/common.sh"
. "$(dirname "$0")/support/tiny_idx.sh"
make_tiny_idx "$T/data/toy" 96 32
for t in 1 2; do
  "$AMOD" train --out "$T/vit$t" --data "$T/data" --dataset toy --img-size 8 --patch-size 2 --embed-dim 16 --depth 2 \
    --heads 2 --epochs 1 --batch-size 16 --threads $t --quiet --router attention --capacity 0.5 >/dev/null \
    || fail "ViT run with $t threads"
done
cmp -s "$T/vit1/last/model.safetensors" "$T/vit2/last/model.safetensors" \
  && ok "ViT (A-MoD): 1 and 2 threads give the same model bytes" || fail "ViT: 1 and 2 threads differ"
for i in $(seq 1 200); do echo "a quick brown fox $((i % 5)) jumps over the lazy dog."; done >"$T/corpus.txt"
for t in 1 2; do
  "$AMOD" train-lm "$T/lm$t" --data "$T/corpus.txt" --layers 2 --width 32 --heads 2 --ff 64 --context 32 --seq 16 \
    --batch 4 --steps 6 --warmup 2 --threads $t --log-every 100 >/dev/null || fail "LM run with $t threads"
done
cmp -s "$T/lm1/model.safetensors" "$T/lm2/model.safetensors" \
  && ok "LM: 1 and 2 threads give the same model bytes" || fail "LM: 1 and 2 threads differ"
finish test_threads_determinism
