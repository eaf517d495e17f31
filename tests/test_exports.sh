#!/usr/bin/env bash
# libamod.so exports the public API and nothing else: every AMOD_API function declared in
# include/amod/ is there, and no other name is (the kernels' and the model internals' names,
# linear_forward, attention_forward, rng_seed, arena_take, would collide with a program's own).
set -u
. "$(dirname "$0")/support/common.sh"
LIB=${AMOD_SHARED_LIB:-build/libamod.so}
[ -f "$LIB" ] || { fail "no shared library at $LIB"; finish test_exports; exit; }

nm -D --defined-only "$LIB" | awk '$2 ~ /^[TDBRVW]$/ {print $3}' | sort -u >"$T/exported"
# the names of the AMOD_API declarations (a declaration may wrap: the name precedes the first '(')
grep -hE '^AMOD_API ' "$SRC"/include/amod/*.h | sed -E 's/\(.*//; s/.*[^a-z0-9_]([a-z0-9_]+)$/\1/' | sort -u >"$T/declared"
[ -s "$T/declared" ] || fail "no AMOD_API declarations found under $SRC/include/amod"

extra=$(comm -13 "$T/declared" "$T/exported" | tr '\n' ' ')
missing=$(comm -23 "$T/declared" "$T/exported" | tr '\n' ' ')
[ -z "$extra" ] && ok "no symbol beyond the public API ($(wc -l <"$T/exported") exported)" ||
  fail "exported but not declared AMOD_API: $extra"
[ -z "$missing" ] && ok "every AMOD_API function is exported ($(wc -l <"$T/declared") declared)" ||
  fail "declared AMOD_API but not exported: $missing"
for name in linear_forward attention_forward rng_seed arena_take route_select amod_sgemm amod_fail; do
  grep -qx "$name" "$T/exported" && fail "internal symbol $name is exported" || ok "$name hidden"
done
finish test_exports
