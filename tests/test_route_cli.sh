#!/usr/bin/env bash
# amod route and amod importance end to end on the tiny timm fixture: pictures, dumps and
# correlation tables are written; bad images, bad indices and bad options exit non-zero with
# one clear line naming the file and the problem, and leave no output behind.
set -u
. "$(dirname "$0")/support/common.sh"
NO_OUTPUT=$T/out.png

# A 32x32 RGB PNG (a bright rectangle on a gradient).
echo 'iVBORw0KGgoAAAANSUhEUgAAACAAAAAgCAIAAAD8GO2jAAAHL0lEQVR42g2WERuGMBSFhz0vhcNhOAzDMBwOwzAMwzAMwzAMD4bhMAyH3/cH9uy599z3vAZjKAylwRqcoTJ4Q21oDK2hMwRDNPSGwTAaJsNsWAyrYTPshsNwGi6DDLfhMSTDa/gM+f+6KSgKygJb4AqqAl9QFzQFbUFXEApiQV8wFIwFU8FcsBSsBVvBXnAUnAVXgQrugqcgFbwFX0H+/92UFCVliS1xJVWJL6lLmpK2pCsJJbGkLxlKxpKpZC5ZStaSrWQvOUrOkqtEJXfJU5JK3pKvJP8nYyyFpbRYi7NUFm+pLY2ltXSWYImW3jJYRstkmS2LZbVslt1yWE7LZZHltjyWZHktnyX/524chaN0WIdzVA7vqB2No3V0juCIjt4xOEbH5Jgdi2N1bI7dcThOx+WQ43Y8juR4HZ8j/7dqKoqKssJWuIqqwlfUFU1FW9FVhIpY0VcMFWPFVDFXLBVrxVaxVxwVZ8VVoYq74qlIFW/FV5H/mTGewlN6rMd5Ko/31F6NV+vVeQWv6NV7DV6j1+Q1ey1eq9fmtXsdXqfn8shzex5P8ryez5P/iTQ1RU1ZY2tcTVXja+paTa22Vlcr1Iq1+lpDrbHWVGuutdRaa2219lpHrbPmqlHNXfPUpJq35qvJ/7ybhqKhbLANrqFq8A11o6ZR26hrFBrFRn2jodHYaGo0N1oarY22Rnujo9HZcDWo4W54GlLD2/A15P81mZaipWyxLa6lavEtdaumVduqaxVaxVZ9q6HV2GpqNbdaWq2ttlZ7q6PV2XK1qOVueVpSy9vyteT/rZqOoqPssB2uo+rwHXWnplPbqesUOsVOfaeh09hp6jR3WjqtnbZOe6ej09lxdajj7ng6Usfb8XXkPwlMoAiUARtwgSrgA3VQE9QGdUEhKAb1QUPQGDQFzUFL0Bq0Be1BR9AZuAIK3IEnkAJv4AvkP2dMpIiUERtxkSriI3VUE9VGdVEhKkb1UUPUGDVFzVFL1Bq1Re1RR9QZuSKK3JEnkiJv5IvkP8VMT9FT9tge11P1+J66V9Or7dX1Cr1ir77X0GvsNfWaey291l5br73X0evsuXrUc/c8Pann7fl68p+RZqAYKAfsgBuoBvxAPagZ1A7qBoVBcVA/aBg0DpoGzYOWQeugbdA+6Bh0DlwDGrgHnoE08A58A/lPYDNSjJQjdsSNVCN+pB7VjGpHdaPCqDiqHzWMGkdNo+ZRy6h11DZqH3WMOkeuEY3cI89IGnlHvpH857uZKCbKCTvhJqoJP1FPaia1k7pJYVKc1E8aJo2TpknzpGXSOmmbtE86Jp0T14Qm7olnIk28E99E/reHmSlmyhk742aqGT9Tz2pmtbO6WWFWnNXPGmaNs6ZZ86xl1jprm7XPOmadM9eMZu6ZZybNvDPfTP53k1koFsoFu+AWqgW/UC9qFrWLukVhUVzULxoWjYumRfOiZdG6aFu0LzoWnQvXghbuhWchLbwL30L+N59ZKVbKFbviVqoVv1Kvala1q7pVYVVc1a8aVo2rplXzqmXVumpbta86Vp0r14pW7pVnJa28K99K/veq2Sg2yg274TaqDb9Rb2o2tZu6TWFT3NRvGjaNm6ZN86Zl07pp27RvOjadG9eGNu6NZyNtvBvfRv63ttkpdsodu+N2qh2/U+9qdrW7ul1hV9zV7xp2jbumXfOuZde6a9u17zp2nTvXjnbunWcn7bw7307+O4E5KA7KA3vgDqoDf1Afag61h7pD4VA81B8aDo2HpkPzoeXQemg7tB86Dp0H14EO7oPnIB28B99B/huHOSlOyhN74k6qE39Sn2pOtae6U+FUPNWfGk6Np6ZT86nl1HpqO7WfOk6dJ9eJTu6T5ySdvCffSf77jLkoLsoLe+Euqgt/UV9qLrWXukvhUrzUXxoujZemS/Ol5dJ6abu0XzounRfXhS7ui+ciXbwX30X+25IRhSiFFU5UwotaaqRW6qQgRamXBmmUJmmWFmmVNmmXDukUl5C4xSOSeMUn8t/FzE1xU97YG3dT3fib+qa5aW+6m3ATb/qb4Wa8mW7mm+Vmvdlu9pvj5ry5bnRz3zw36ea9+W7y3/TMQ/FQPtgH91A9+If6oXloH7qH8BAf+ofhYXyYHuaH5WF92B72h+PhfLge9HA/PA/p4X34HvLfI02iSJQJm3CJKuETdaJJtIkuERIx0SeGxJiYEnNiSayJLbEnjsSZuBJK3IknkRJv4kvkv6Wal+KlfLEv7qV68S/1S/PSvnQv4SW+9C/Dy/gyvcwvy8v6sr3sL8fL+XK96OV+eV7Sy/vyveS/A5uP4qP8sB/uo/rwH/VH89F+dB/hI370H8PH+DF9zB/Lx/qxfewfx8f5cX3o4/54PtLH+/F95L9hm0yRKTM24zJVxmfqTJNpM10mZGKmzwyZMTNl5sySWTNbZs8cmTNzZZS5M08mZd7Ml8n5B24p9b36KzGEAAAAAElFTkSuQmCC' | base64 -d >"$T/square.png"

# A data set of 10 random 28x28 images in the IDX layout, labels 0..9.
mkdir -p "$T/data"
printf '\x00\x00\x08\x03\x00\x00\x00\x0a\x00\x00\x00\x1c\x00\x00\x00\x1c' >"$T/data/t10k-images-idx3-ubyte"
head -c 7840 /dev/urandom >>"$T/data/t10k-images-idx3-ubyte"
printf '\x00\x00\x08\x01\x00\x00\x00\x0a\x00\x01\x02\x03\x04\x05\x06\x07\x08\x09' >"$T/data/t10k-labels-idx1-ubyte"

# Two checkpoints: the fixture with an A-MoD and with a random-router "mod" section.
ckpt() {
  cp -r "$FIX/vit_timm_tiny" "$T/$1"; chmod -R u+w "$T/$1"
  sed -i "0,/{/s//{\"mod\": {\"router\": \"$2\", \"capacity\": 0.5, \"mod_layers\": [1, 3]},/" "$T/$1/config.json"
}
ckpt amod attention
ckpt rand random

# ---- what works ----
if "$AMOD" route "$T/amod" "$T/rand" "$T/square.png" --data "$T/data" --index 0,7 --out "$T/r.png" \
    --dump "$T/r.csv" >"$T/stdout" 2>"$T/stderr"; then
  [ "$(head -c 4 "$T/r.png" | tail -c 3)" = "PNG" ] || fail "route: r.png is not a PNG"
  # 3 images x 2 checkpoints x 2 MoD layers x 17 tokens, and a header
  [ "$(wc -l <"$T/r.csv")" -eq $((3 * 2 * 2 * 17 + 1)) ] || fail "route: r.csv has $(wc -l <"$T/r.csv") lines"
  head -1 "$T/r.csv" | grep -q '^image,name,label,checkpoint,router,layer,token,patch_row,patch_col,score,kept$' \
    || fail "route: csv header $(head -1 "$T/r.csv")"
  # every (image, checkpoint, layer) keeps k = ceil(0.5 * 17) = 9 tokens, CLS among them
  kept=$(awk -F, 'NR > 1 && $11 == 1 { n[$1 "," $4 "," $6]++ } END { for (k in n) print n[k] }' "$T/r.csv" | sort -u)
  [ "$kept" = "9" ] || fail "route: kept counts '$kept'"
  awk -F, 'NR > 1 && $7 == 0 && $11 != 1 { bad = 1 } END { exit bad }' "$T/r.csv" || fail "route: CLS not kept"
  grep -q 'test #7,7,rand,random,3,' "$T/r.csv" || fail "route: data image row missing"
  grep -q '^0,square.png,-1,amod,attention,1,' "$T/r.csv" || fail "route: file image row missing"
  echo "ok   route: $(cat "$T/stdout" | head -1)"
else
  fail "route failed: $(cat "$T/stderr")"
fi
"$AMOD" route "$T/amod" --data "$T/data" --n 2 --out "$T/r2.png" --dump "$T/r2.safetensors" >/dev/null 2>"$T/stderr" \
  && [ -s "$T/r2.safetensors" ] && echo "ok   route --dump .safetensors" || fail "route safetensors: $(cat "$T/stderr")"
"$AMOD" route "$FIX/vit_timm_tiny" --router linear --capacity 0.25 "$T/square.png" --out "$T/r3.png" >/dev/null \
  2>"$T/stderr" && echo "ok   route with MoD options" || fail "route --router linear: $(cat "$T/stderr")"

if "$AMOD" importance "$T/amod" "$T/rand" --data "$T/data" --n 5 --out-dir "$T/imp" >"$T/stdout" 2>"$T/stderr"; then
  for f in tokens.csv correlation.csv pearson.png spearman.png; do [ -s "$T/imp/$f" ] || fail "importance: no $f"; done
  [ "$(wc -l <"$T/imp/correlation.csv")" -eq 5 ] || fail "importance: correlation.csv has $(wc -l <"$T/imp/correlation.csv") lines"
  # 2 checkpoints x 5 images x 16 tokens, and a header
  [ "$(wc -l <"$T/imp/tokens.csv")" -eq 161 ] || fail "importance: tokens.csv has $(wc -l <"$T/imp/tokens.csv") lines"
  # r and rho in [-1, 1], p in [0, 1], n = 80
  awk -F, 'NR > 1 && !($5 == 80 && $6 >= -1 && $6 <= 1 && $7 >= 0 && $7 <= 1 && $8 >= -1 && $8 <= 1 && $9 >= 0 && $9 <= 1) { bad = 1 }
           END { exit bad }' "$T/imp/correlation.csv" || fail "importance: bad row in correlation.csv"
  # the same weights give the same importance, whatever the router
  a=$(awk -F, '$1 == "amod" { print $3, $4, $6 }' "$T/imp/tokens.csv" | md5sum)
  b=$(awk -F, '$1 == "rand" { print $3, $4, $6 }' "$T/imp/tokens.csv" | md5sum)
  [ "$a" = "$b" ] || fail "importance: depends on the router"
  # per-image rho (mean inside its interval) in [-1, 1]; precision@k in [0, 1]; k = 8 of 16 kept, random 0.5
  awk -F, 'NR > 1 && !($10 >= -1 && $10 <= 1 && $11 <= $10 && $10 <= $12 && $13 == 8 && $14 >= 0 && $14 <= 1 &&
                        $15 <= $14 && $14 <= $16 && $17 == 0.5) { bad = 1 } END { exit bad }' "$T/imp/correlation.csv" ||
    fail "importance: bad per-image statistics in correlation.csv: $(sed -n 2p "$T/imp/correlation.csv")"
  echo "ok   importance"
else
  fail "importance failed: $(cat "$T/stderr")"
fi

# --dense: importance of one (pretrained dense) model for every checkpoint
"$AMOD" importance "$T/amod" --dense "$FIX/vit_timm_tiny" --data "$T/data" --n 5 --out-dir "$T/imp2" >/dev/null 2>"$T/stderr" &&
  [ "$(awk -F, '$1 == "amod" { print $3, $4, $6 }' "$T/imp2/tokens.csv" | md5sum)" = "$a" ] &&
  echo "ok   importance --dense: the dense fixture gives the adapted model's importance" || fail "importance --dense: $(cat "$T/stderr")"

# --measure skip: per MoD layer, the token skipping that layer
"$AMOD" importance "$T/amod" --measure skip --data "$T/data" --n 3 --out-dir "$T/imp3" >"$T/stdout" 2>"$T/stderr" &&
  head -1 "$T/imp3/tokens.csv" | grep -q ',skip_importance_layer1,skip_importance_layer3$' &&
  awk -F, 'NR > 1 && $18 != "skip" { bad = 1 } END { exit bad }' "$T/imp3/correlation.csv" &&
  echo "ok   importance --measure skip" || fail "importance --measure skip: $(cat "$T/stderr") $(head -1 "$T/imp3/tokens.csv")"

# ---- what fails, clearly ----
route() { "$AMOD" route "$T/amod" "$@" --out "$T/out.png"; }
head -c 100 "$T/square.png" >"$T/corrupt.png"
printf 'not an image' >"$T/text.jpg"
expect_error "non-square image" "r.png is [0-9]+x[0-9]+, expected a square image" -- route "$T/r.png"
expect_error "corrupt image" "corrupt.png: .*(truncated|corrupt)" -- route "$T/corrupt.png"
expect_error "not an image" "text.jpg: not a PNG or JPEG" -- route "$T/text.jpg"
expect_error "unreadable file" "missing.png: cannot open" -- route "$T/missing.png"
expect_error "index past the end" "t10k-images-idx3-ubyte: index 10 is past the end of the data set \(10 images: 0..9\)" \
  -- route --data "$T/data" --index 3,10
expect_error "--n past the end" "index 10 is past the end" -- route --data "$T/data" --n 11
expect_error "bad index list" "--index: index list '1,x'" -- route --data "$T/data" --index 1,x
expect_error "missing data set" "nodata: no such data set directory" -- route --data "$T/nodata" --n 1
expect_error "no images" "no images" -- route
expect_error "dense model" "vit_timm_tiny: the model has no MoD layers" -- "$AMOD" route "$FIX/vit_timm_tiny" "$T/square.png" --out "$T/out.png"
expect_error "dump name" "--dump x.txt: the name must end in .csv or .safetensors" -- route "$T/square.png" --dump x.txt
expect_error "A-MoD on layer 0" "layer 0 cannot be a MoD layer" -- route "$T/square.png" --mod-layers 0
expect_error "no checkpoint" "no CHECKPOINT" -- "$AMOD" route "$T/square.png" --out "$T/out.png"
expect_error "importance without data" "--data DIR is required" -- "$AMOD" importance "$T/amod"
expect_error "importance past the end" "index 12 is past the end" -- "$AMOD" importance "$T/amod" --data "$T/data" --index 12 --out-dir "$T/imp2"
expect_error "importance out-dir is a file" "square.png: exists and is not a directory" -- "$AMOD" importance "$T/amod" --data "$T/data" --n 2 --out-dir "$T/square.png"
expect_error "importance dense model" "no MoD layers" -- "$AMOD" importance "$FIX/vit_timm_tiny" --data "$T/data" --n 2 --out-dir "$T/imp3"

finish test_route_cli
