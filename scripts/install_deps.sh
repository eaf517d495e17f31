#!/usr/bin/env bash
# Debian packages amod builds and tests with. Skips apt-get when everything is present.
set -euo pipefail
# oneDNN (libdnnl-dev) runs the matrix products; OpenBLAS is the fallback.
# clang, its sanitizer/libFuzzer runtimes and its OpenMP (libomp) build the fuzzers.
pkgs=(build-essential cmake pkg-config libopenblas-dev libdnnl-dev libcjson-dev libpcre2-dev libpng-dev libjpeg-dev
      clang libclang-rt-14-dev libomp-dev libopenmpi-dev openmpi-bin)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}"
fi
