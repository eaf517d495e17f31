#!/usr/bin/env bash
# Encoding speed of amod's tokenizers on English text (one core: encoding is single-threaded):
# Debian's licence texts and package copyright files, concatenated, without repeats (distinct
# files only), up to SIZE_MB. Each tokenizer of tests/fixtures/tokenizers encodes the whole
# text ROUNDS times (a fresh process each time, so its word cache starts empty); the median
# MB/s is reported.
#
#   bench/tokenizer_speed.sh [BUILD_DIR]       environment: SIZE_MB (8), ROUNDS (3), OUT (runs/tokenizer)
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
SIZE_MB=${SIZE_MB:-8}
ROUNDS=${ROUNDS:-3}
OUT=${OUT:-runs/tokenizer}
mkdir -p "$OUT"
text=$OUT/english.txt
{ cat /usr/share/common-licenses/* 2>/dev/null; find /usr/share/doc -name copyright -type f -print0 2>/dev/null |
    xargs -0 md5sum | sort | awk '!seen[$1]++ {print $2}' | xargs cat; } | head -c $((SIZE_MB << 20)) >"$text"
echo "# $(date -u +%FT%TZ) $(lscpu | sed -n 's/^Model name: *//p'); commit $(git rev-parse --short HEAD 2>/dev/null || echo '?')"
echo "# text: $(wc -c <"$text") bytes of Debian licence and copyright files"
echo "| tokenizer | tokens | tokens per byte | MB/s (median of $ROUNDS) | per round |"
echo "|---|---:|---:|---:|---|"
F=tests/fixtures/tokenizers
for t in r50k_base.tiktoken cl100k_base.tiktoken gpt2 sentencepiece; do
  rates=()
  for r in $(seq "$ROUNDS"); do
    line=$("$BUILD/amod" tokenize "$F/$t" --file "$text" --count --stats 2>&1 >/dev/null)
    rates+=("$(sed -n 's/.*(\([0-9.]*\) MB\/s.*/\1/p' <<<"$line")")
    tokens=$(sed -n 's/.* -> \([0-9]*\) tokens.*/\1/p' <<<"$line")
    tpb=$(sed -n 's/.*MB\/s, \([0-9.]*\) tokens per byte.*/\1/p' <<<"$line")
  done
  med=$(printf '%s\n' "${rates[@]}" | sort -g | sed -n "$(( (ROUNDS + 1) / 2 ))p")
  echo "| $t | $tokens | $tpb | $med | ${rates[*]} |"
done
