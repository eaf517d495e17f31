#!/usr/bin/env bash
# Bad input to `amod forward` on language models: each case must exit non-zero with a
# one-line message that names the file and the problem, must not crash (no signal, no
# sanitizer report), and must not leave an output file behind.
set -u
. "$(dirname "$0")/support/common.sh"
NO_OUTPUT=$T/out.st

# mkids FILE DTYPE B T ID...: a safetensors file holding input_ids [B, T] (I64 or I32)
mkids() {
  local file=$1 dtype=$2 b=$3 t=$4; shift 4
  local size=8; [ "$dtype" = I32 ] && size=4
  local n=$((b * t)) bytes=$((b * t * size))
  local json="{\"input_ids\":{\"dtype\":\"$dtype\",\"shape\":[$b,$t],\"data_offsets\":[0,$bytes]}}"
  local len=${#json}
  printf "$(printf '\\x%02x\\x%02x\\x00\\x00\\x00\\x00\\x00\\x00' $((len & 255)) $((len >> 8)))" >"$file"
  printf '%s' "$json" >>"$file"
  local i v
  for ((i = 0; i < n; i++)); do
    v=${1:-0}; [ $# -gt 0 ] && shift
    [ "$v" -lt 0 ] && v=$((v + (1 << 32)))
    printf "$(printf '\\x%02x\\x%02x\\x%02x\\x%02x' $((v & 255)) $(((v >> 8) & 255)) $(((v >> 16) & 255)) $(((v >> 24) & 255)))" >>"$file"
    if [ "$size" = 8 ]; then
      if [ "${v}" -ge $((1 << 31)) ]; then printf '\xff\xff\xff\xff' >>"$file"; else printf '\x00\x00\x00\x00' >>"$file"; fi
    fi
  done
}

G=$FIX/gpt2_hf_tiny
L=$FIX/llama_hf_tiny
run() { "$AMOD" forward "$@" --out "$T/out.st"; }
model() { rm -rf "$T/m"; cp -r "$1" "$T/m"; chmod -R u+w "$T/m"; }

# vocabulary and positions
mkids "$T/vocab.st" I64 1 4 1 2 256 3
expect_error "token id = vocab" "vocab.st: token id 256 at \[0, 2\] is outside the vocabulary 0..255" -- run "$G" --input "$T/vocab.st"
mkids "$T/neg.st" I64 2 2 1 2 3 -1
expect_error "negative token id" "neg.st: token id -1 at \[1, 1\] is outside the vocabulary" -- run "$L" --input "$T/neg.st"
mkids "$T/long.st" I32 1 65
expect_error "longer than n_positions" "long.st: sequence of 65 tokens is longer than the model's 64 positions" -- run "$G" --input "$T/long.st"
mkids "$T/long2.st" I64 1 129
expect_error "longer than max_position_embeddings" "long2.st: sequence of 129 tokens is longer than the model's 128 positions" -- run "$L" --input "$T/long2.st"

# the input file
mkids "$T/one.st" I64 2 1 5 6
expect_error "grads with one token" "one.st: --grads needs sequences of at least 2 tokens" -- run "$G" --input "$T/one.st" --grads
expect_error "no input_ids" "ref.safetensors: no tensor named 'input_ids'" -- run "$G" --input "$FIX/vit_timm_tiny/ref.safetensors"
printf 'x' >"$T/junk.st"
expect_error "junk input" "junk.st: truncated" -- run "$G" --input "$T/junk.st"

# unsupported options in config.json
routed() { # the routing object amod writes, with predictor thresholds TH
  model "$G"
  sed 's/^{/{"amod": {"mod": {"router": "linear", "capacity": 0.5, "mod_layers": [1], "seed": 0, "predictor_hidden": 8, "predictor_threshold": '"$1"'}},/' \
    "$G/config.json" >"$T/m/config.json"
}
routed '[0, 1]'
expect_error "predictor thresholds, one per layer" "config.json: amod.mod.predictor_threshold must be a list of 4 numbers \(one per layer\)" -- run "$T/m" --input "$G/ref.safetensors"
routed '[0, "x", 0, 0]'
expect_error "predictor threshold not a number" "config.json: amod.mod.predictor_threshold\[1\] is not a finite number" -- run "$T/m" --input "$G/ref.safetensors"
model "$G"; sed 's/"gelu_new"/"relu"/' "$G/config.json" >"$T/m/config.json"
expect_error "gpt2 activation" "config.json: activation_function 'relu' is not supported \(only 'gelu_new'\)" -- run "$T/m" --input "$G/ref.safetensors"
model "$G"; sed 's/"scale_attn_by_inverse_layer_idx": false/"scale_attn_by_inverse_layer_idx": true/' "$G/config.json" >"$T/m/config.json"
expect_error "gpt2 layer-scaled attention" "config.json: 'scale_attn_by_inverse_layer_idx': true is not supported" -- run "$T/m" --input "$G/ref.safetensors"
model "$L"; sed 's/"rope_type": "default"/"rope_type": "yarn"/' "$L/config.json" >"$T/m/config.json"
expect_error "llama rope scaling" "config.json: rope_type 'yarn' is not supported" -- run "$T/m" --input "$L/ref.safetensors"
model "$L"; sed 's/"hidden_act": "silu"/"hidden_act": "gelu"/' "$L/config.json" >"$T/m/config.json"
expect_error "llama activation" "config.json: hidden_act 'gelu' is not supported \(only 'silu'\)" -- run "$T/m" --input "$L/ref.safetensors"
model "$L"; sed 's/"num_key_value_heads": 2/"num_key_value_heads": 3/' "$L/config.json" >"$T/m/config.json"
expect_error "kv heads do not divide heads" "config.json: num_attention_heads 4 is not a multiple of num_key_value_heads 3" -- run "$T/m" --input "$L/ref.safetensors"
model "$L"; sed 's/"pretraining_tp": 1/"pretraining_tp": 2/' "$L/config.json" >"$T/m/config.json"
expect_error "llama pretraining_tp" "config.json: 'pretraining_tp' must be an integer in \[1, 1\]" -- run "$T/m" --input "$L/ref.safetensors"
model "$G"; sed 's/"tie_word_embeddings": true/"tie_word_embeddings": false/' "$G/config.json" >"$T/m/config.json"
expect_error "untied head without lm_head" "model.safetensors: missing tensor 'lm_head.weight'" -- run "$T/m" --input "$G/ref.safetensors"
model "$L"; sed 's/"hidden_size": 64/"hidden_size": 32/' "$L/config.json" >"$T/m/config.json"
expect_error "shape mismatch" "model.safetensors: tensor '.*' has shape \[.*\], expected \[.*\]" -- run "$T/m" --input "$L/ref.safetensors"

# routing options that do not fit the model
expect_error "A-MoD after MoD" "MoD layer 2 follows MoD layer 1: the attention router needs a dense previous layer" -- run "$L" --input "$L/ref.safetensors" --router attention --mod-layers 1,2
expect_error "MindSkip on the last layer" "MindSkip never routes the last layer \(3\)" -- run "$L" --input "$L/ref.safetensors" --mindskip sequence --skip-layers 2,3
expect_error "MoD and MindSkip" "MoD and MindSkip cannot be combined" -- run "$L" --input "$L/ref.safetensors" --router linear --mindskip sequence
expect_error "unknown LM option" "unknown option '--block-out' for a language model" -- run "$G" --input "$G/ref.safetensors" --block-out

# An existing output is never replaced by a failed run.
echo keep >"$T/out.st"
"$AMOD" forward "$G" --input "$T/vocab.st" --out "$T/out.st" 2>/dev/null
[ "$(cat "$T/out.st")" = keep ] || fail "a failed run replaced the existing output"

finish test_forward_lm_errors
