# Preamble of the data-parallel shell tests, sourced after common.sh: exits 0 when amod is
# built without MPI; otherwise MPI, the mpirun command line (2 ranks on this machine, one
# thread each).
if ! command -v mpirun >/dev/null || ! ldd "$AMOD" | grep -q libmpi; then
  echo "amod is built without MPI: nothing to test"; exit 0
fi
MPI=(mpirun --allow-run-as-root --oversubscribe -np 2 --mca btl self,vader --timeout 300)
export OMP_NUM_THREADS=1 OMP_WAIT_POLICY=passive
