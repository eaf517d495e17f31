#!/usr/bin/env bash
# `amod forward` + `amod diff` on the GPT-2 and Llama fixtures: logits, loss, every attention
# map (1e-4) and every parameter gradient under its Hugging Face name (1e-3).
set -u
. "$(dirname "$0")/support/common.sh"
# check NAME DIR EXPECTED_COMMON: forward with --grads --attn, diff against ref.safetensors
check() {
  local name=$1 dir=$FIX/$2 want=$3
  if ! "$AMOD" forward "$dir" --input "$dir/ref.safetensors" --grads --attn --out "$T/out.st"; then
    fail "$name: forward failed"; return
  fi
  if "$AMOD" diff "$T/out.st" "$dir/ref.safetensors" --quiet >"$T/diff"; then echo "ok   $name: $(tail -1 "$T/diff")"
  else fail "$name"; cat "$T/diff"; fi
  local n; n=$(tail -1 "$T/diff" | awk '{print $1}')
  [ "$n" = "$want" ] || fail "$name: expected $want common tensors, got $n"
}
check "gpt2 (tied head, Conv1D)" gpt2_hf_tiny 58   # 52 grads + 4 attention maps + logits + loss
check "llama (GQA, RoPE)" llama_hf_tiny 45         # 39 grads + 4 attention maps + logits + loss
# without --grads: only logits, loss (and no gradient tensors)
"$AMOD" forward "$FIX/gpt2_hf_tiny" --input "$FIX/gpt2_hf_tiny/ref.safetensors" --out "$T/plain.st" || fail "plain forward failed"
n=$("$AMOD" diff "$T/plain.st" "$FIX/gpt2_hf_tiny/ref.safetensors" | tail -1 | awk '{print $1}')
[ "$n" = 2 ] || fail "plain forward: expected logits + loss, got $n common tensors"
# MoD options run (linear router with predictor, A-MoD) and MindSkip
for opts in "--router linear --capacity 0.25" "--router attention --capacity 0.5" "--mindskip sequence" "--mindskip token --skip-layers 1,2"; do
  # shellcheck disable=SC2086
  if "$AMOD" forward "$FIX/llama_hf_tiny" --input "$FIX/llama_hf_tiny/ref.safetensors" --grads $opts --out "$T/r.st"; then
    echo "ok   routed forward: $opts"
  else fail "routed forward: $opts"; fi
done
# Older Llama configs keep rope_theta at the top level (transformers < 5): same numbers; and
# the value is really read (another theta changes the logits).
mkdir -p "$T/old" && cp "$FIX/llama_hf_tiny/model.safetensors" "$T/old/"
sed -e '/"rope_parameters"/,/}/d' -e 's/"rms_norm_eps"/"rope_theta": 10000.0,\n  "rope_scaling": null,\n  "rms_norm_eps"/' \
  "$FIX/llama_hf_tiny/config.json" >"$T/old/config.json"
if grep -q rope_parameters "$T/old/config.json" || ! grep -q '"rope_theta": 10000.0' "$T/old/config.json"; then
  fail "could not build the old-style config"
fi
"$AMOD" forward "$T/old" --input "$FIX/llama_hf_tiny/ref.safetensors" --out "$T/old.st" &&
  "$AMOD" diff "$T/old.st" "$FIX/llama_hf_tiny/ref.safetensors" --quiet >/dev/null &&
  echo "ok   top-level rope_theta (transformers < 5)" || fail "top-level rope_theta"
sed -i 's/"rope_theta": 10000.0/"rope_theta": 500.0/' "$T/old/config.json"
"$AMOD" forward "$T/old" --input "$FIX/llama_hf_tiny/ref.safetensors" --out "$T/old.st" &&
  ! "$AMOD" diff "$T/old.st" "$FIX/llama_hf_tiny/ref.safetensors" --quiet >/dev/null &&
  echo "ok   rope_theta 500 gives other logits" || fail "rope_theta is ignored"
finish test_forward_lm_cli
