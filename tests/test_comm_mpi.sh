#!/usr/bin/env bash
# test_comm under `mpirun -np 2 --oversubscribe` when amod is built with MPI.
set -eu
bin="$(dirname "$AMOD_BIN")/tests/test_comm"
if ! command -v mpirun >/dev/null || ! ldd "$bin" | grep -q libmpi; then
  echo "amod is built without MPI: single-process behaviour is covered by test_comm"; exit 0
fi
mpirun --allow-run-as-root --oversubscribe -np 2 "$bin"
