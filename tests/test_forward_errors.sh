#!/usr/bin/env bash
# Bad input to `amod forward`: each case must exit non-zero with a one-line message that
# names the file and the problem, must not crash (no signal, no sanitizer report), and
# must not leave an output file behind.
set -u
. "$(dirname "$0")/support/common.sh"
NO_OUTPUT=$T/out.st

# mkst FILE JSON DATA_BYTES: a safetensors file with this header and zeroed data
mkst() {
  local file=$1 json=$2 n=$3 len=${#2}
  printf "$(printf '\\x%02x\\x%02x\\x%02x\\x%02x\\x00\\x00\\x00\\x00' $((len & 255)) $(((len >> 8) & 255)) $(((len >> 16) & 255)) $(((len >> 24) & 255)))" >"$file"
  printf '%s' "$json" >>"$file"
  head -c "$n" /dev/zero >>"$file"
}

# A model directory we can break piece by piece.
model() { rm -rf "$T/m"; cp -r "$FIX/vit_timm_tiny" "$T/m"; chmod -R u+w "$T/m"; }
IN="$FIX/vit_timm_tiny/ref.safetensors"
run() { "$AMOD" forward "$@" --out "$T/out.st"; }

model; rm "$T/m/model.safetensors"
expect_error "missing weights" "model.safetensors: cannot open" -- run "$T/m" --input "$IN"
expect_error "missing input" "nope.safetensors: cannot open" -- run "$FIX/vit_timm_tiny" --input "$T/nope.safetensors"
expect_error "missing model dir" "config.json: cannot open" -- run "$T/none" --input "$IN"

model; head -c 100000 "$FIX/vit_timm_tiny/model.safetensors" >"$T/m/model.safetensors"
expect_error "truncated weights" "model.safetensors: .*(truncated|outside)" -- run "$T/m" --input "$IN"
model; head -c 5 "$FIX/vit_timm_tiny/model.safetensors" >"$T/m/model.safetensors"
expect_error "truncated to 5 bytes" "model.safetensors: truncated" -- run "$T/m" --input "$IN"

mkst "$T/lie1.st" '{"input":{"dtype":"F32","shape":[3,3,32,32],"data_offsets":[0,36864]}}' 100
expect_error "offsets past the end" "lie1.st: tensor 'input' has data offsets" -- run "$FIX/vit_timm_tiny" --input "$T/lie1.st"
mkst "$T/lie2.st" '{"input":{"dtype":"F32","shape":[3,3,32,32],"data_offsets":[0,400]}}' 400
expect_error "size disagrees with shape" "lie2.st: tensor 'input' occupies 400 bytes but .* need 36864" -- run "$FIX/vit_timm_tiny" --input "$T/lie2.st"
mkst "$T/lie3.st" '{"a":{"dtype":"F32","shape":[100],"data_offsets":[0,400]},"input":{"dtype":"F32","shape":[50],"data_offsets":[200,400]}}' 400
expect_error "overlapping tensors" "lie3.st: tensors .* overlap" -- run "$FIX/vit_timm_tiny" --input "$T/lie3.st"
printf '\xff\xff\xff\xff\xff\xff\xff\x7f{}' >"$T/lie4.st"
expect_error "absurd header length" "lie4.st: header length" -- run "$FIX/vit_timm_tiny" --input "$T/lie4.st"
mkst "$T/lie5.st" '{"input":{"dtype":"F32","shape":[4294967296,4294967296,4294967296],"data_offsets":[0,4]}}' 4
expect_error "shape overflows" "lie5.st: tensor 'input' .*(overflows|occupies)" -- run "$FIX/vit_timm_tiny" --input "$T/lie5.st"
mkst "$T/lie6.st" 'not json at all' 0
expect_error "header not JSON" "lie6.st: header is not a JSON object" -- run "$FIX/vit_timm_tiny" --input "$T/lie6.st"
mkst "$T/dtype.st" '{"input":{"dtype":"F8_E9","shape":[1],"data_offsets":[0,1]}}' 1
expect_error "unknown dtype" "dtype.st: tensor 'input' has unknown dtype 'F8_E9'" -- run "$FIX/vit_timm_tiny" --input "$T/dtype.st"
mkst "$T/itype.st" '{"input":{"dtype":"I64","shape":[3,3,32,32],"data_offsets":[0,73728]}}' 73728
expect_error "integer input" "itype.st: input has dtype I64" -- run "$FIX/vit_timm_tiny" --input "$T/itype.st"

mkst "$T/shape.st" '{"input":{"dtype":"F32","shape":[2,3,28,28],"data_offsets":[0,18816]}}' 18816
expect_error "input shape does not fit" "shape.st: input has shape \[2, 3, 28, 28\], the model expects \[B, 3, 32, 32\]" -- run "$FIX/vit_timm_tiny" --input "$T/shape.st"
mkst "$T/noinput.st" '{"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}' 4
expect_error "no input tensor" "noinput.st: no tensor named 'input'" -- run "$FIX/vit_timm_tiny" --input "$T/noinput.st"

# A weights file with one tensor renamed, one reshaped.
model; sed 's/"head.weight"/"head.wEight"/' "$FIX/vit_timm_tiny/model.safetensors" >"$T/m/model.safetensors"
expect_error "missing tensor" "model.safetensors: missing tensor 'head.weight'" -- run "$T/m" --input "$IN"
model; sed 's/"embed_dim": 64/"embed_dim": 32/' "$FIX/vit_timm_tiny/config.json" >"$T/m/config.json"
expect_error "misshapen tensor" "model.safetensors: tensor '.*' has shape \[.*\], expected \[.*\]" -- run "$T/m" --input "$IN"

model; sed 's/"vit_custom"/"vit_gigantic_patch99"/' "$FIX/vit_timm_tiny/config.json" >"$T/m/config.json"
expect_error "unknown architecture" "config.json: unknown architecture 'vit_gigantic_patch99'" -- run "$T/m" --input "$IN"
model; sed 's/"mlp_ratio"/"mlp_ratiox"/' "$FIX/vit_timm_tiny/config.json" >"$T/m/config.json"
expect_error "unknown config key" "config.json: unknown model_args key 'mlp_ratiox'" -- run "$T/m" --input "$IN"
model; printf '{"architecture": ' >"$T/m/config.json"
expect_error "broken config" "config.json: not a JSON object" -- run "$T/m" --input "$IN"

expect_error "capacity 0" "capacity 0 is outside \(0, 1\]" -- run "$FIX/vit_timm_tiny" --input "$IN" --router attention --capacity 0
expect_error "capacity 1.5" "capacity 1.5 is outside \(0, 1\]" -- run "$FIX/vit_timm_tiny" --input "$IN" --router linear --capacity 1.5
expect_error "capacity nan" "(capacity|expects a number)" -- run "$FIX/vit_timm_tiny" --input "$IN" --router linear --capacity nan
expect_error "A-MoD after a MoD layer" "MoD layer 2 follows MoD layer 1: the attention router needs a dense previous layer" -- run "$FIX/vit_timm_tiny" --input "$IN" --router attention --mod-layers 1,2
expect_error "A-MoD at layer 0" "layer 0" -- run "$FIX/vit_timm_tiny" --input "$IN" --router attention --mod-layers 0
expect_error "layer out of range" "--mod-layers" -- run "$FIX/vit_timm_tiny" --input "$IN" --router linear --mod-layers 1,9
expect_error "unknown router" "unknown router 'mlp'" -- run "$FIX/vit_timm_tiny" --input "$IN" --router mlp
expect_error "grads without labels" "needs 'labels'" -- run "$FIX/deit_tiny_f16" --input "$FIX/deit_tiny_f16/ref.safetensors" --grads
expect_error "router weights for a dense layer" "router_weights.safetensors: tensor 'blocks.1.router.weight' is not a parameter" -- run "$FIX/vit_timm_tiny" --input "$IN" --router-weights "$FIX/vit_timm_tiny/router_weights.safetensors"

# A NaN weight: the loader names the tensor.
model; cp "$FIX/vit_timm_tiny/model.safetensors" "$T/m/model.safetensors"
off=$(( $(od -An -t u8 -N 8 "$T/m/model.safetensors") + 8 ))
printf '\x00\x00\xc0\x7f' | dd of="$T/m/model.safetensors" bs=1 seek=$off conv=notrunc status=none
expect_error "NaN weight" "model.safetensors: tensor '.*' holds a non-finite value" -- run "$T/m" --input "$IN"

# An existing output is never replaced by a half-written one.
echo keep >"$T/out.st"
"$AMOD" forward "$FIX/vit_timm_tiny" --input "$T/shape.st" --out "$T/out.st" 2>/dev/null
[ "$(cat "$T/out.st")" = keep ] || fail "a failed run replaced the existing output"

finish test_forward_errors
