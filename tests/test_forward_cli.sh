#!/usr/bin/env bash
# `amod forward` + `amod diff` on every ViT fixture: the path a user takes to compare amod
# with PyTorch. Tolerances: 1e-4 for activations and logits, 1e-3 for gradients.
set -u
. "$(dirname "$0")/support/common.sh"
check() { # name ref -- forward args
  local name=$1 ref=$2; shift 3
  if ! "$AMOD" forward "$@" --out "$T/out.st"; then fail "$name: forward failed"; return; fi
  if "$AMOD" diff "$T/out.st" "$ref" --quiet >"$T/diff"; then echo "ok   $name: $(tail -1 "$T/diff")"
  else fail "$name"; cat "$T/diff"; fi
}
V=$FIX/vit_timm_tiny
check "timm dense" "$V/ref.safetensors" -- "$V" --input "$V/ref.safetensors" --grads --attn --block-out
for c in 0500 0125; do
  cap=$([ $c = 0500 ] && echo 0.5 || echo 0.125)
  check "timm A-MoD C=$cap" "$V/mod_attention_c$c.safetensors" -- "$V" --input "$V/ref.safetensors" --grads --router attention --capacity $cap --mod-start 1
  check "timm linear C=$cap" "$V/mod_linear_c$c.safetensors" -- "$V" --input "$V/ref.safetensors" --grads --router linear --capacity $cap --mod-layers 1,3 --router-weights "$V/router_weights.safetensors"
done
check "hf dense" "$FIX/vit_hf_tiny/ref.safetensors" -- "$FIX/vit_hf_tiny" --input "$FIX/vit_hf_tiny/ref.safetensors" --grads --attn
check "deit tiny f16" "$FIX/deit_tiny_f16/ref.safetensors" -- "$FIX/deit_tiny_f16" --input "$FIX/deit_tiny_f16/ref.safetensors"
# the number of gradients written equals the number of parameters of the reference
n=$("$AMOD" forward "$V" --input "$V/ref.safetensors" --grads --router linear --capacity 0.5 --router-weights "$V/router_weights.safetensors" --out "$T/g.st" && "$AMOD" diff "$T/g.st" "$V/mod_linear_c0500.safetensors" | tail -1 | awk '{print $1}')
[ "$n" = 60 ] || fail "expected 60 common tensors (58 grads + logits + loss), got $n"
finish test_forward_cli
