#!/usr/bin/env python3
"""Runs sgemm_peak under several BLAS configurations, interleaved over
--rounds, and prints a markdown table of the median (and best) GFLOP/s per
configuration and shape.  Before each run it waits for the machine to be quiet
and it records the CPU share other processes took during the run.

  bench/sgemm_matrix.py cores    [--build build] [--rounds 5]
      OPENBLAS_CORETYPE in {Haswell, (unset), SkylakeX} x threads {1, 2}
  bench/sgemm_matrix.py variants [--openmp-dir DIR]
      Debian's OpenBLAS pthread vs OpenMP build (DIR holds the OpenMP build's
      libopenblas.so.0, e.g. /usr/lib/x86_64-linux-gnu/openblas-openmp, or the
      same folder unpacked from libopenblas0-openmp with dpkg -x), core
      detection left to OpenBLAS, 2 threads, with --omp-heads --mixed
  bench/sgemm_matrix.py blis     --blis-bin PROG [--blis-bin PROG2]
      sgemm_peak built against BLIS (see docs/BENCHMARKS_TORCH_NOTES.md),
      BLIS_ARCH_TYPE in {(auto), 0 = skx, 6 = zen3} x threads {1, 2}
"""
import argparse
import os
import statistics
import subprocess
import sys
import time
from collections import defaultdict


def cpu_jiffies():
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    idle = v[3] + v[4]
    return sum(v[:8]) - idle, sum(v[:8])


def wait_quiet(max_wait, busy_max=0.15):
    t_end = time.time() + max_wait
    while True:
        b0, t0 = cpu_jiffies()
        time.sleep(1.0)
        b1, t1 = cpu_jiffies()
        busy = (b1 - b0) / max(1, t1 - t0)
        if busy <= busy_max or time.time() >= t_end:
            return busy
        time.sleep(2.0)


def run_one(cmd, env, max_wait):
    busy = wait_quiet(max_wait) if max_wait > 0 else None
    b0, _ = cpu_jiffies()
    ch0 = os.times()
    w0 = time.time()
    p = subprocess.run(cmd, env=env, capture_output=True, text=True)
    wall = time.time() - w0
    ch1 = os.times()
    b1, _ = cpu_jiffies()
    own = (ch1.children_user + ch1.children_system) - (ch0.children_user + ch0.children_system)
    foreign = max(0.0, ((b1 - b0) / os.sysconf("SC_CLK_TCK") - own) / (wall * (os.cpu_count() or 1)))
    if p.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed:\n{p.stderr}")
    return p.stdout, foreign, busy


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("study", choices=["cores", "variants", "blis", "raw"],
                    help="raw: only re-read a --raw file given with --from-raw and print its table")
    ap.add_argument("--from-raw", default=None)
    ap.add_argument("--build", default="build")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--reps", default="5")
    ap.add_argument("--min-ms", default="25")
    ap.add_argument("--only", default=None, help="passed to sgemm_peak --only")
    ap.add_argument("--openmp-dir", default="/usr/lib/x86_64-linux-gnu/openblas-openmp")
    ap.add_argument("--blis-bin", action="append", default=[])
    ap.add_argument("--max-wait", type=float, default=60.0)
    ap.add_argument("--max-foreign", type=float, default=0.10,
                    help="leave out runs during which other processes took more than this CPU share "
                         "(unless every run of that configuration did)")
    ap.add_argument("--metric", choices=["gflops", "ms"], default="gflops")
    ap.add_argument("--raw", default=None, help="append every run's output to this file")
    args = ap.parse_args()

    peak = os.path.join(args.build, "sgemm_peak")
    common = ["--reps", args.reps, "--min-ms", args.min_ms] + (["--only", args.only] if args.only else [])
    base = dict(os.environ)
    configs = []  # (label, env, cmd)
    if args.study == "cores":
        for ct in ("Haswell", None, "SkylakeX"):
            for t in (1, 2):
                env = dict(base)
                env.pop("OPENBLAS_CORETYPE", None)
                if ct:
                    env["OPENBLAS_CORETYPE"] = ct
                configs.append((f"{ct or 'unset'} {t}T", env, [peak, "--threads", str(t)] + common))
    elif args.study == "variants":
        if not os.path.exists(os.path.join(args.openmp_dir, "libopenblas.so.0")):
            sys.exit(f"no libopenblas.so.0 in {args.openmp_dir}")
        for var in ("pthread", "openmp"):
            for wait in (None, "passive"):
                env = dict(base)
                env.pop("OPENBLAS_CORETYPE", None)
                env.pop("OMP_WAIT_POLICY", None)
                if var == "openmp":
                    env["LD_LIBRARY_PATH"] = args.openmp_dir
                if wait:
                    env["OMP_WAIT_POLICY"] = wait
                configs.append((f"{var}{' passive' if wait else ''}", env,
                                [peak, "--threads", "2", "--omp-heads", "--mixed"] + common))
    elif args.study == "blis":
        if not args.blis_bin:
            sys.exit("--blis-bin PROG needed")
        for prog in args.blis_bin:
            for arch in (None, "0", "6"):
                for t in (1, 2):
                    env = dict(base)
                    env.pop("BLIS_ARCH_TYPE", None)
                    if arch:
                        env["BLIS_ARCH_TYPE"] = arch
                    configs.append((f"{os.path.basename(prog)} arch={arch or 'auto'} {t}T", env,
                                    [prog, "--threads", str(t)] + common))

    vals = defaultdict(list)  # (label, shape) -> [(value, foreign)]
    order, info, foreign = [], {}, defaultdict(list)
    raw = open(args.raw, "a") if args.raw else None

    def runs():
        """(label, foreign, output) of each run: measured now, or read back from --from-raw."""
        if args.study == "raw":
            text = open(args.from_raw).read()
            for chunk in text.split("## round ")[1:]:
                head, _, out = chunk.partition("\n")
                r, rest = head.split(" ", 1)
                label, _, tail = rest.rpartition(" foreign=")
                yield label, float(tail.split()[0]), out
            return
        for r in range(args.rounds):
            for label, env, cmd in configs:
                out, fo, busy = run_one(cmd, env, args.max_wait)
                if raw:
                    raw.write(f"## round {r} {label} foreign={fo:.3f} busy_before={busy}\n{out}")
                    raw.flush()
                print(f"# round {r + 1}/{args.rounds} {label}: foreign cpu {100 * fo:.0f}%", file=sys.stderr,
                      flush=True)
                yield label, fo, out

    print(f"# {time.strftime('%Y-%m-%d %H:%M:%S')} loadavg {open('/proc/loadavg').read().strip()}", flush=True)
    labels = [c[0] for c in configs]
    for label, fo, out in runs():
        if label not in labels:
            labels.append(label)
        foreign[label].append(fo)
        for line in out.splitlines():
            if line.startswith("# openblas") or line.startswith("# blis"):
                info[label] = line[2:].split(" config=")[0]
            if line.startswith("#") or line.startswith("shape") or not line.strip():
                continue
            p = line.split()
            col = 6 if args.metric == "gflops" else 5
            if p[col] == "-":
                continue
            name = p[0]
            if name not in order:
                order.append(name)
            vals[(label, name)].append((float(p[col]), fo))
    print(f"# {time.strftime('%Y-%m-%d %H:%M:%S')} loadavg {open('/proc/loadavg').read().strip()}")
    for lab in labels:
        print(f"# {lab}: {info.get(lab, '?')}; foreign cpu per round "
              + " ".join(f"{100 * f:.0f}%" for f in foreign[lab]))
    if args.metric == "gflops":
        print(f"\nGFLOP/s, median over rounds [best round]; rounds with foreign cpu > "
              f"{100 * args.max_foreign:.0f}% left out\n")
    else:
        print(f"\nms per call (per batch of head calls), median over rounds [best round]; rounds with "
              f"foreign cpu > {100 * args.max_foreign:.0f}% left out\n")
    print("| shape | " + " | ".join(labels) + " |")
    print("|---|" + "---:|" * len(labels))
    for name in order:
        cells = []
        for lab in labels:
            v = vals.get((lab, name), [])
            kept = [x for x, fo in v if fo <= args.max_foreign]
            v = kept if kept else [x for x, _ in v]
            if not v:
                cells.append("-")
            elif args.metric == "gflops":
                cells.append(f"{statistics.median(v):.0f} [{max(v):.0f}]")
            else:
                cells.append(f"{statistics.median(v):.2f} [{min(v):.2f}]")
        print(f"| {name} | " + " | ".join(cells) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
