#!/usr/bin/env bash
# amod flops: totals that match the paper, JSON output, and one-line errors with exit code 2.
set -u
bin=${AMOD_BIN:?AMOD_BIN must point at the amod binary}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0
checks=0

fail() {
    echo "FAIL: $*" >&2
    fails=$((fails + 1))
}

# ok ARGS... : must exit 0; stdout in $tmp/out.
ok() {
    checks=$((checks + 1))
    "$bin" flops "$@" >"$tmp/out" 2>"$tmp/err"
    local rc=$?
    [ $rc -eq 0 ] || fail "amod flops $* exited $rc: $(cat "$tmp/err")"
}

# has PATTERN WHAT : stdout of the last run contains PATTERN (a fixed string).
has() {
    checks=$((checks + 1))
    grep -qF -- "$1" "$tmp/out" || fail "$2: no '$1' in output of the last command"
}

# bad MESSAGE ARGS... : must exit 2 with exactly one stderr line containing MESSAGE, nothing on stdout.
bad() {
    local want=$1
    shift
    checks=$((checks + 1))
    "$bin" flops "$@" >"$tmp/out" 2>"$tmp/err"
    local rc=$?
    [ $rc -eq 2 ] || fail "amod flops $* exited $rc, want 2"
    [ "$(wc -l <"$tmp/err")" -eq 1 ] || fail "amod flops $*: stderr is not one line: $(cat "$tmp/err")"
    grep -qF -- "$want" "$tmp/err" || fail "amod flops $*: stderr '$(cat "$tmp/err")' lacks '$want'"
    [ ! -s "$tmp/out" ] || fail "amod flops $*: wrote to stdout on error"
}

# Table 2 of the paper (dense), in GMACs.
ok deit_tiny_patch16_224
has "1.2584" "DeiT-Tiny total"
has "routing: none (dense)" "dense routing line"
ok deit_small_patch16_224
has "4.6083" "DeiT-Small total"
ok vit_base_patch16_224
has "17.5827" "ViT-Base total"

# Table 1: A-MoD on DeiT-Tiny, MoD every other layer from layer 1.
ok deit_tiny_patch16_224 --capacity 0.5
has "0.9303" "DeiT-Tiny C=50%"
has "attention router, capacity 0.5 -> 99 of 197 tokens, MoD layers 1,3,5,7,9,11" "routing line"
has " 1 mod          99" "MoD layer row"
ok deit_tiny_patch16_224 --router attention --capacity=12.5% --mod-start 1
has "0.7119" "DeiT-Tiny C=12.5%"
ok deit_tiny_patch16_224 --router linear --capacity 0.125 --mod-layers 2,4
has "MoD layers 2,4" "explicit layer list"
ok deit_tiny_patch16_224 --capacity 0.5 --isoflop both
has "isoFLOP by depth: depth 9, width 192" "depth baseline"
has "isoFLOP by width: depth 12, width 162" "width baseline"

# JSON: exact MAC counts.
ok deit_tiny_patch16_224 --json
has '"total":	1258411200' "JSON dense total"
has '"router":	"none"' "JSON router"
ok deit_tiny_patch16_224 --capacity 0.125 --isoflop width --json
has '"mod_layers":	[1, 3, 5, 7, 9, 11]' "JSON MoD layers"
has '"mod_tokens":	25' "JSON k"
has '"capacity":	0.125' "JSON capacity"
has '"kind":	"width"' "JSON isoFLOP"
checks=$((checks + 1))
[ "$(grep -c '"layer":' "$tmp/out")" -eq 12 ] || fail "JSON has not 12 layers"
ok vit_tiny_mnist
has "50 tokens" "MNIST preset"

ok --help
has "usage: amod flops MODEL" "help"

# Errors.
bad "unknown model 'deit_huge' (known: deit_tiny_patch16_224" deit_huge
bad "capacity 1.5 is outside (0, 1]" deit_tiny_patch16_224 --capacity 1.5
bad "capacity 0 is outside (0, 1]" deit_tiny_patch16_224 --capacity 0
bad "capacity -0.5 is outside (0, 1]" deit_tiny_patch16_224 --capacity -0.5
bad "capacity 1e+300 is outside (0, 1]" deit_tiny_patch16_224 --capacity 1e300
bad "--capacity 'half' is not a number" deit_tiny_patch16_224 --capacity half
bad "--capacity 'nan' is not a number" deit_tiny_patch16_224 --capacity nan
bad "layer 3 appears twice" deit_tiny_patch16_224 --mod-layers 1,3,3
bad "layer 12 is outside [0, 11]" deit_tiny_patch16_224 --mod-layers 1,12
bad "expected a layer number" deit_tiny_patch16_224 --mod-layers 1,x
bad "layer 0 cannot be a MoD layer with the attention router" deit_tiny_patch16_224 --mod-layers 0,2
bad "MoD layer 2 follows MoD layer 1" deit_tiny_patch16_224 --router attention --mod-layers 1,2
bad "--mod-start 12 is outside [0, 11]" deit_tiny_patch16_224 --mod-start 12
bad "--mod-start 'one' is not a layer number" deit_tiny_patch16_224 --mod-start one
bad "capacity 1e-50 is too small" deit_tiny_patch16_224 --capacity 1e-50
bad "either --mod-start or --mod-layers" deit_tiny_patch16_224 --mod-start 1 --mod-layers 1,3
bad "unknown router 'mlp'" deit_tiny_patch16_224 --router mlp
bad "--router none is dense" deit_tiny_patch16_224 --router none --capacity 0.5
bad "--isoflop 'heads' is not one of depth, width, width-mlp, both" deit_tiny_patch16_224 --isoflop heads
bad "--capacity needs a value" deit_tiny_patch16_224 --capacity
bad "unknown option '--fast'" deit_tiny_patch16_224 --fast
bad "no MODEL given" --json
bad "one MODEL only" deit_tiny_patch16_224 deit_small_patch16_224
mkdir "$tmp/model"
bad "model/config.json: cannot open" "$tmp/model"
cp "${AMOD_FIXTURES:-tests/fixtures}/deit_tiny_f16/config.json" "$tmp/model/"
checks=$((checks + 1))
"$bin" flops "$tmp/model" --router attention --capacity 0.5 --json >"$tmp/out" 2>&1 && grep -q '"total"' "$tmp/out" \
    || { echo "FAIL: amod flops on a checkpoint directory"; fails=$((fails + 1)); }

checks=$((checks + 1))
"$bin" >"$tmp/out" 2>&1
grep -q "flops" "$tmp/out" || fail "amod usage does not list flops"

echo "test_flops_cli: $checks checks, $fails failures"
[ $fails -eq 0 ]
