# Sourced by shell tests: writes a tiny, learnable IDX data set without the network.
# make_tiny_idx DIR N_TRAIN N_TEST [SIDE] [CLASSES]: DIR/{train,t10k}-{images-idx3,labels-idx1}-ubyte
# with SIDE x SIDE images (default 8) of CLASSES classes (default 4, at most 4): class k has
# brightness 60 k plus a faint deterministic texture.
make_tiny_idx() {
  local dir=$1 ntrain=$2 ntest=$3 side=${4:-8} classes=${5:-4}
  mkdir -p "$dir"
  _tiny_split "$dir/train" "$ntrain" "$side" "$classes" 0
  _tiny_split "$dir/t10k" "$ntest" "$side" "$classes" 7919
}

# IDX header: magic, then big-endian dimensions, written as octal escapes by awk (C locale,
# so every value is one byte).
_tiny_split() {
  local prefix=$1 n=$2 side=$3 classes=$4 salt=$5
  LC_ALL=C awk -v n="$n" -v side="$side" -v classes="$classes" -v salt="$salt" '
    function be32(v) { printf "%c%c%c%c", int(v / 16777216) % 256, int(v / 65536) % 256, int(v / 256) % 256, v % 256 }
    BEGIN {
      printf "%c%c%c%c", 0, 0, 8, 3; be32(n); be32(side); be32(side)
      for (i = 0; i < n; i++) {
        k = (i * 7 + salt) % classes
        for (y = 0; y < side; y++) for (x = 0; x < side; x++) {
          v = 60 * k + (y * 7 + x * 13 + i * 5 + salt) % 40
          printf "%c", v
        }
      }
    }' > "$prefix-images-idx3-ubyte"
  LC_ALL=C awk -v n="$n" -v classes="$classes" -v salt="$salt" '
    function be32(v) { printf "%c%c%c%c", int(v / 16777216) % 256, int(v / 65536) % 256, int(v / 256) % 256, v % 256 }
    BEGIN { printf "%c%c%c%c", 0, 0, 8, 1; be32(n); for (i = 0; i < n; i++) printf "%c", (i * 7 + salt) % classes }' \
    > "$prefix-labels-idx1-ubyte"
}
