#!/usr/bin/env bash
# `amod generate`: byte-level prompts, the KV cache gives what recomputing the prefix gives
# (greedy and sampled), reproducible sampling, and clear one-line errors.
set -u
# One-row decoding steps are tiny parallel regions: on a busy machine spinning OpenMP workers
# only slow them down (and the sanitizer build a lot), so they sleep while waiting here.
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-passive}
. "$(dirname "$0")/support/common.sh"

for m in gpt2_hf_tiny llama_hf_tiny; do
  M=$FIX/$m
  "$AMOD" generate "$M" --prompt "The quick brown fox" --tokens 24 >"$T/cached" || fail "$m: generate failed"
  "$AMOD" generate "$M" --prompt "The quick brown fox" --tokens 24 --no-cache >"$T/full" || fail "$m: --no-cache failed"
  cmp -s "$T/cached" "$T/full" && ok "$m: greedy, KV cache = recomputed prefix" || fail "$m: greedy outputs differ"
  [ "$(head -c 19 "$T/cached")" = "The quick brown fox" ] && [ "$(wc -c <"$T/cached")" -eq 43 ] &&
    ok "$m: prompt bytes + 24 new bytes" || fail "$m: output is not the prompt plus 24 bytes"
  "$AMOD" generate "$M" --prompt "abc" --tokens 16 --temperature 0.9 --top-k 20 --seed 5 --print-ids >"$T/s1"
  "$AMOD" generate "$M" --prompt "abc" --tokens 16 --temperature 0.9 --top-k 20 --seed 5 --print-ids --no-cache >"$T/s2"
  "$AMOD" generate "$M" --prompt "abc" --tokens 16 --temperature 0.9 --top-k 20 --seed 6 --print-ids >"$T/s3"
  cmp -s "$T/s1" "$T/s2" && ok "$m: sampled, KV cache = recomputed prefix" || fail "$m: sampled outputs differ"
  cmp -s "$T/s1" "$T/s3" && fail "$m: another seed gives the same sample" || ok "$m: the seed matters"
  [ "$(tr ',' '\n' <"$T/s1" | wc -l)" -eq 19 ] && ok "$m: --print-ids prints 3 + 16 ids" || fail "$m: --print-ids count"
done
"$AMOD" generate "$FIX/gpt2_hf_tiny" --ids 72,105 --tokens 5 --print-ids | grep -qE '^72,105(,[0-9]+){5}$' &&
  ok "--ids" || fail "--ids"

# A GPT-2-shaped model with GPT-2's real vocabulary (50257 tokens), trained by amod on documents
# that end in <|endoftext|>: it prints text, and stops at the end-of-text token
for i in $(seq 400); do printf 'Hello there, friend.<|endoftext|>'; done >"$T/docs.txt"
"$AMOD" train-lm "$T/gpt2bpe" --data "$T/docs.txt" --tokenizer "$FIX/tokenizers/gpt2" --layers 2 --width 32 --heads 2 \
  --context 64 --seq 32 --batch 8 --steps 60 --lr 1e-2 --warmup 5 --log-every 1000 >"$T/gpt2bpe.log" ||
  fail "training with the GPT-2 tokenizer: $(tail -1 "$T/gpt2bpe.log")"
[ -f "$T/gpt2bpe/encoder.json" ] && [ -f "$T/gpt2bpe/vocab.bpe" ] && grep -q '"vocab_size":	50257' "$T/gpt2bpe/config.json" &&
  ok "the model directory holds the tokenizer; vocabulary 50257" || fail "tokenizer files or vocab_size"
out=$("$AMOD" generate "$T/gpt2bpe" --prompt "Hello" --tokens 30 --stats 2>"$T/gen.err")
[ "$out" = "Hello there, friend." ] && grep -q "stopped at the end-of-text token" "$T/gen.err" &&
  ok "generate --prompt prints text and stops at <|endoftext|>: '$out'" || fail "generate with GPT-2 BPE: '$out' $(cat "$T/gen.err")"
"$AMOD" generate "$T/gpt2bpe" --prompt "Hello" --tokens 6 --print-ids | grep -qE '^15496(,[0-9]+)+,50256$' &&
  ok "--print-ids with a tokenizer: GPT-2's id of Hello first, <|endoftext|> last" || fail "--print-ids with a tokenizer"
"$AMOD" eval-lm "$T/gpt2bpe" --data "$T/docs.txt" --seq 32 >"$T/ev" && grep -q "windows of 32 tokens" "$T/ev" &&
  grep -q "bits/byte" "$T/ev" && ok "eval-lm counts tokens, reports bits per byte" || fail "eval-lm with a tokenizer: $(cat "$T/ev")"

G=$FIX/gpt2_hf_tiny
printf 'Hello, world' >"$T/teacher.txt"
"$AMOD" generate "$G" --prompt ab --teacher-file "$T/teacher.txt" >"$T/forced" && [ "$(cat "$T/forced")" = "abHello, world" ] &&
  ok "--teacher-file: the new tokens are the file's bytes" || fail "--teacher-file: $(cat "$T/forced")"
expect_error "teacher file too short" "teacher.txt: 12 bytes, fewer than the 20 tokens asked for" -- "$AMOD" generate "$G" --prompt ab --teacher-file "$T/teacher.txt" --tokens 20
expect_error "too long" "a prompt of 5 tokens plus 61 new ones does not fit the model's 64 positions" -- "$AMOD" generate "$G" --prompt hello --tokens 61
expect_error "id outside the vocabulary" "token id 256 at \[0, 1\] is outside the vocabulary 0..255" -- "$AMOD" generate "$G" --ids 1,256
expect_error "bad id list" "--ids: '1,x' is not a comma-separated list of integers" -- "$AMOD" generate "$G" --ids 1,x
expect_error "empty prompt" "the prompt is empty" -- "$AMOD" generate "$G" --prompt ""
expect_error "missing prompt file" "nope.txt: cannot open" -- "$AMOD" generate "$G" --prompt-file "$T/nope.txt"
expect_error "two prompts" "exactly one of --prompt, --prompt-file and --ids" -- "$AMOD" generate "$G" --prompt a --ids 1
expect_error "negative temperature" "--temperature must be >= 0" -- "$AMOD" generate "$G" --prompt a --temperature -1
expect_error "not a language model" "config.json: model_type 'none given' is not a supported language model" -- "$AMOD" generate "$FIX/vit_timm_tiny" --prompt a
finish test_generate_cli
