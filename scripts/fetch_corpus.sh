#!/usr/bin/env bash
# A small real English text corpus for the byte-level LM experiments: the fortune cookies of
# Debian's `fortunes` package (quotations, poems, jokes; ~2.4 MB), unpacked without installing
# it. Writes data/fortunes.txt: every fortune except each 20th, then those held-out 5% at the
# end, so that the last 5% `amod train-lm` and `amod eval-lm` keep apart (--val-frac 0.05) is a
# sample of every file rather than the last one. Overstrike sequences (x BACKSPACE y) are
# removed; the art files (pictures, not text) are left out.
set -euo pipefail
cd "$(dirname "$0")/.."
out=data/fortunes.txt
if [ -s "$out" ]; then echo "$out is already there"; exit 0; fi
mkdir -p data
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
if ! (cd "$tmp" && apt-get download fortunes >/dev/null 2>&1); then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
  $SUDO apt-get update -qq
  (cd "$tmp" && apt-get download fortunes >/dev/null)
fi
deb=$(ls "$tmp"/fortunes_*.deb)
dpkg-deb -x "$deb" "$tmp/x"
dir=$tmp/x/usr/share/games/fortunes
for f in $(cd "$dir" && ls | grep -vE '\.(dat|u8)$' | grep -vxE 'art|ascii-art' | LC_ALL=C sort); do
  sed 's/.\x08//g' "$dir/$f"
done | awk 'BEGIN { RS = "%\n"; ORS = "%\n" } { if (NR % 20 == 0) held = held $0 "%\n"; else print } END { printf "%s", held }' >"$out.tmp"
mv "$out.tmp" "$out"
dpkg-deb -f "$deb" Package Version >"$out.source"
echo "$out: $(wc -c <"$out") bytes from $(tr '\n' ' ' <"$out.source")"
