#!/usr/bin/env bash
# `amod tokenize`: ids of a text and back, with each kind of tokenizer file; bad input gets
# one line naming the file and the problem.
set -u
. "$(dirname "$0")/support/common.sh"
TK=$FIX/tokenizers

out=$("$AMOD" tokenize "$TK/r50k_base.tiktoken" --text "Hello, World! How are you today? 🌍")
[ "$out" = "15496 11 2159 0 1374 389 345 1909 30 12520 234 235" ] && ok "r50k ids (gpt-tokenizer's test plan)" || fail "r50k: $out"
out=$("$AMOD" tokenize "$TK/gpt2" --text "hello<|endoftext|>")
[ "$out" = "31373 50256" ] && ok "GPT-2 files: special token" || fail "gpt2 special: $out"
out=$("$AMOD" tokenize "$TK/gpt2" --text "hello<|endoftext|>" --no-special --count)
[ "$out" = "8" ] && ok "--no-special encodes the special token's text" || fail "--no-special: $out"
"$AMOD" tokenize "$TK/cl100k_base.tiktoken" --text "naïve café 🙂 it's 12345" >"$T/ids" || fail "cl100k encode"
"$AMOD" tokenize "$TK/cl100k_base.tiktoken" --decode --file "$T/ids" >"$T/back" &&
  [ "$(cat "$T/back")" = "naïve café 🙂 it's 12345" ] && ok "cl100k: decode of the ids gives the text" || fail "cl100k decode: $(cat "$T/back")"
out=$("$AMOD" tokenize "$TK/sentencepiece" --text "Hello world" --bos)
[ "$out" = "1 577 1130 271 1131 669" ] && ok "SentencePiece tokenizer.json, with <s> (sentencepiece's ids)" || fail "sp: $out"
out=$("$AMOD" tokenize "$TK/sentencepiece" --decode --ids "577,1130,271,1131,669")
[ "$out" = "Hello world" ] && ok "SentencePiece decode strips the prefix space" || fail "sp decode: '$out'"

expect_error "missing" "nope: cannot open" -- "$AMOD" tokenize "$T/nope" --text a
expect_error "no tokenizer in dir" "no tokenizer.json, vocab.json \+ merges.txt" -- "$AMOD" tokenize "$FIX/vit_timm_tiny" --text a
expect_error "id outside the vocabulary" "token id 50257 \(at 1\) is not in the vocabulary" -- "$AMOD" tokenize "$TK/gpt2" --decode --ids 1,50257
printf '1 2 x3' >"$T/bad_ids"
expect_error "not an id" "bad_ids: 'x3' is not a token id" -- "$AMOD" tokenize "$TK/gpt2" --decode --file "$T/bad_ids"
expect_error "no text" "give exactly one of --text and --file" -- "$AMOD" tokenize "$TK/gpt2"
finish test_tokenize_cli
