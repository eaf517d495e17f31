#!/usr/bin/env bash
# amod plot: CSV columns to a PNG; a malformed CSV, a missing column or no usable row each
# give one line naming the file, and no PNG is left behind.
set -u
. "$(dirname "$0")/support/common.sh"
NO_OUTPUT=$T/bad.png

printf 'epoch,test_acc,run\n1,0.5,a\n2,0.7,a\n1,0.4,b\n2,,b\n3,0.8,b\n' >"$T/log.csv"
if "$AMOD" plot --out "$T/p.png" --title t --y-scale 100 --series "A=$T/log.csv:epoch:test_acc:run=a" \
     --series "B=$T/log.csv:epoch:test_acc:run=b" && [ "$(head -c 4 "$T/p.png" | od -An -tx1 | tr -d ' ')" = 89504e47 ]; then
  echo "ok   plot writes a PNG"
else
  fail "plot did not write a PNG"
fi

printf 'a,b\n1,2\n3\n' >"$T/ragged.csv"
expect_error "ragged CSV" "ragged.csv: line 3 has 1 fields, the header 2" -- \
  "$AMOD" plot --out "$T/bad.png" --series "x=$T/ragged.csv:a:b"
expect_error "missing column" "log.csv: no column 'acc'" -- "$AMOD" plot --out "$T/bad.png" --series "x=$T/log.csv:epoch:acc"
expect_error "no rows" "no rows with a number in 'test_acc' where run is c" -- \
  "$AMOD" plot --out "$T/bad.png" --series "x=$T/log.csv:epoch:test_acc:run=c"
expect_error "missing file" "nothing.csv: cannot open" -- "$AMOD" plot --out "$T/bad.png" --series "x=$T/nothing.csv:a:b"
expect_error "bad spec" "is not NAME=CSV:XCOL:YCOL" -- "$AMOD" plot --out "$T/bad.png" --series "x"

finish test_plot_cli
