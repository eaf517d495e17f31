#!/usr/bin/python3
"""PyTorch baseline for amod: DeiT-Tiny (dense and Mixture-of-Depths) images/s on CPU.

Run with Debian's interpreter and torch (apt-get install python3-torch):

    /usr/bin/python3 bench/torch_vit.py [--batch 32] [--threads 2] [--amod-json amod.json]

DeiT-Tiny is written here in plain torch (no timm): 16x16 patch-embedding conv,
CLS token, position embedding, 12 pre-norm blocks of D=192 with 3 heads, MLP 768
with exact GELU, LayerNorm eps 1e-6, a 1000-class head.  MoD follows
/work/shared/SPEC.md: MoD layers at the odd indices 1, 3, 5, ...; k = ceil(C*N)
tokens, CLS always kept and counted, the top k-1 others in their original
order; the block runs on the gathered tokens and its output is scattered back.
  attention router: r_i = mean over heads and query rows of the previous
                    (dense) layer's softmax attention; output x_i + u_i
  linear router:    r_i = x_i . w on the block input; output x_i + r_i * u_i

Rows (the keys of the JSON, also used by --amod-json):
  dense_infer, dense_train,
  mod_{attention,linear}_c{0500,0125}_{infer,train}
infer = forward under torch.inference_mode(); train = forward, cross-entropy,
backward, AdamW step.  Each figure: images/s from the median of --reps timed
iterations after --warmup untimed ones.

Configurations tried, each in a fresh child process (the best per row is
reported, and named):
  impl    hand = hand-written blocks (explicit q k^T, softmax, @ v)
          nn   = nn.TransformerEncoderLayer(norm_first=True, batch_first=True);
                 PyTorch 1.13 refuses its fused fast path for an odd number of
                 heads (DeiT-Tiny has 3), so this is the regular path
          jit  = hand, traced and frozen with torch.jit (inference only)
          jitopt = hand, traced, then torch.jit.optimize_for_inference (in
                 1.13 it moves only the conv to oneDNN; inference only)
          mkldnn = hand with torch.utils.mkldnn.to_mkldnn: every nn.Linear and
                 the conv run on oneDNN with prepacked weights, whatever
                 OPENBLAS_CORETYPE says (inference only)
          bf16 = hand under torch.autocast("cpu", dtype=torch.bfloat16): mixed
                 precision (linear layers and matmuls in bfloat16 on oneDNN,
                 float32 weights and optimizer), amod's --precision bf16
  threads TORCH:BLAS[:passive]: torch.set_num_threads(TORCH), OpenBLAS at BLAS
          threads (openblas_set_num_threads; 0 = OpenBLAS's own count, all
          cores), passive = OMP_WAIT_POLICY=passive
  core    OpenBLAS's kernel set: "env" = as OPENBLAS_CORETYPE in the
          environment picks it, "unset" = the variable removed (OpenBLAS's own
          detection), or a core name
On a shared machine, run several passes with --json-out and combine them with
--merge (best run of each configuration; a disturbed run is only ever slower).

Only --sweep-rows (default dense) try every configuration; the other rows run
with the best configuration of dense for the same mode.  Before each child the
script waits (--max-wait) for the machine to be quiet, and it records the CPU
share used by other processes during the child ("foreign_cpu").
"""
import argparse
import contextlib
import ctypes
import ctypes.util
import json
import math
import os
import platform
import resource
import statistics
import subprocess
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

# ---------------------------------------------------------------- OpenBLAS --


class OpenBLAS:
    """The OpenBLAS that torch loaded (Debian: libblas.so.3 -> libopenblas.so.0)."""

    def __init__(self):
        self.lib = None
        for name in ("libopenblas.so.0", "libopenblas.so"):
            try:
                self.lib = ctypes.CDLL(name)
                break
            except OSError:
                pass
        if self.lib is not None:
            self.lib.openblas_get_corename.restype = ctypes.c_char_p
            self.lib.openblas_get_config.restype = ctypes.c_char_p

    def corename(self):
        return self.lib.openblas_get_corename().decode() if self.lib else "?"

    def config(self):
        return self.lib.openblas_get_config().decode() if self.lib else "?"

    def threads(self):
        return self.lib.openblas_get_num_threads() if self.lib else -1

    def set_threads(self, n):
        if self.lib:
            self.lib.openblas_set_num_threads(int(n))


# ------------------------------------------------------------------- model --

D, HEADS, MLP, DEPTH, PATCH, IMG, CLASSES, EPS = 192, 3, 768, 12, 16, 224, 1000, 1e-6
NTOK = (IMG // PATCH) ** 2 + 1  # 197


class Attention(nn.Module):
    def __init__(self):
        super().__init__()
        self.qkv = nn.Linear(D, 3 * D)
        self.proj = nn.Linear(D, D)
        self.scale = (D // HEADS) ** -0.5

    def forward(self, x, want_probs: bool = False):
        B, N, _ = x.shape
        qkv = self.qkv(x).reshape(B, N, 3, HEADS, D // HEADS).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        a = torch.matmul(q * self.scale, k.transpose(-2, -1)).softmax(dim=-1)
        o = torch.matmul(a, v).transpose(1, 2).reshape(B, N, D)
        return self.proj(o), (a if want_probs else None)


class HandBlock(nn.Module):
    def __init__(self):
        super().__init__()
        self.norm1 = nn.LayerNorm(D, eps=EPS)
        self.attn = Attention()
        self.norm2 = nn.LayerNorm(D, eps=EPS)
        self.fc1 = nn.Linear(D, MLP)
        self.fc2 = nn.Linear(MLP, D)

    def forward(self, x, want_probs: bool = False):
        y, a = self.attn(self.norm1(x), want_probs)
        x = x + y
        x = x + self.fc2(F.gelu(self.fc1(self.norm2(x))))
        return x, a


class NNBlock(nn.Module):
    """nn.TransformerEncoderLayer; when the attention probabilities are wanted
    (the dense layer before an attention-routed MoD layer), its pieces are
    called by hand with need_weights=True (mean over heads, as the router wants)."""

    def __init__(self):
        super().__init__()
        self.layer = nn.TransformerEncoderLayer(D, HEADS, MLP, dropout=0.0, activation="gelu",
                                                layer_norm_eps=EPS, batch_first=True, norm_first=True)

    def forward(self, x, want_probs: bool = False):
        if not want_probs:
            return self.layer(x), None
        L = self.layer
        h = L.norm1(x)
        y, a = L.self_attn(h, h, h, need_weights=True, average_attn_weights=True)
        x = x + y
        x = x + L.linear2(F.gelu(L.linear1(L.norm2(x))))
        return x, a  # a: [B, N, N], already averaged over heads


def mod_tokens(capacity, n=NTOK, prefix=1):
    return max(prefix, math.ceil(capacity * n - 1e-9))


class ViT(nn.Module):
    def __init__(self, impl="hand", router="none", capacity=1.0):
        super().__init__()
        self.patch_embed = nn.Conv2d(3, D, PATCH, PATCH)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, D))
        self.pos_embed = nn.Parameter(torch.randn(1, NTOK, D) * 0.02)
        Block = HandBlock if impl == "hand" else NNBlock
        self.blocks = nn.ModuleList([Block() for _ in range(DEPTH)])
        self.norm = nn.LayerNorm(D, eps=EPS)
        self.head = nn.Linear(D, CLASSES)
        self.router = router
        self.capacity = capacity
        self.k = mod_tokens(capacity)
        self.is_mod = [router != "none" and i % 2 == 1 for i in range(DEPTH)]
        if router == "linear":
            self.router_w = nn.ParameterList(
                [nn.Parameter(torch.randn(1, D) * 0.02) if m else nn.Parameter(torch.zeros(0)) for m in self.is_mod])

    def forward(self, img):
        x = self.patch_embed(img).flatten(2).transpose(1, 2)
        x = torch.cat([self.cls_token.expand(x.shape[0], -1, -1), x], dim=1) + self.pos_embed
        probs = None
        for i, blk in enumerate(self.blocks):
            want = self.router == "attention" and i + 1 < DEPTH and self.is_mod[i + 1]
            if not self.is_mod[i]:
                x, probs = blk(x, want)
                continue
            B = x.shape[0]
            if self.router == "attention":
                # [B,H,N,N] (hand) or [B,N,N] (nn, head-averaged): mean over heads and queries
                score = probs.mean(dim=(1, 2)) if probs.dim() == 4 else probs.mean(dim=1)
            else:
                score = torch.matmul(x, self.router_w[i].t()).squeeze(-1)  # [B, N]
            top = score[:, 1:].topk(self.k - 1, dim=1).indices.sort(dim=1).values + 1
            idx = torch.cat([torch.zeros(B, 1, dtype=top.dtype, device=top.device), top], dim=1)
            gidx = idx.unsqueeze(-1).expand(-1, -1, D)
            xs = x.gather(1, gidx)
            ys, _ = blk(xs, False)
            if self.router == "linear":
                r = score.gather(1, idx).unsqueeze(-1)
                ys = xs + r * (ys - xs)
            x = x.scatter(1, gidx, ys)
            probs = None
        return self.head(self.norm(x)[:, 0])


# ------------------------------------------------------------------ timing --


def time_it(fn, warmup, reps):
    for _ in range(warmup):
        fn()
    ts = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
    return statistics.median(ts), ts


def make_model(impl, router, capacity, seed=0):
    torch.manual_seed(seed)
    return ViT("hand" if impl in ("jit", "jitopt", "mkldnn", "bf16") else impl, router, capacity)


def precision(impl):
    """bf16: autocast to bfloat16 (mixed precision); otherwise float32 throughout."""
    return torch.autocast("cpu", dtype=torch.bfloat16) if impl == "bf16" else contextlib.nullcontext()


def bench_infer(impl, router, capacity, batch, warmup, reps):
    m = make_model(impl, router, capacity).eval()
    x = torch.randn(batch, 3, IMG, IMG)
    if impl in ("jit", "jitopt"):
        with torch.no_grad():
            t = torch.jit.trace(m, x, check_trace=False)
            # jitopt: optimize_for_inference also moves the frozen linears and
            # the conv to oneDNN (MKL-DNN) with prepacked weights
            m = torch.jit.optimize_for_inference(t) if impl == "jitopt" else torch.jit.freeze(t)
            for _ in range(2):  # profiling runs of the executor
                m(x)

        def step():
            with torch.no_grad():
                m(x)
    else:
        if impl == "mkldnn":  # nn.Linear and the conv replaced by oneDNN modules (prepacked weights)
            from torch.utils import mkldnn as mkldnn_utils
            m = mkldnn_utils.to_mkldnn(m)

        def step():
            with torch.inference_mode(), precision(impl):
                m(x)
    med, ts = time_it(step, warmup, reps)
    return batch / med, ts


def bench_train(impl, router, capacity, batch, warmup, reps):
    m = make_model(impl, router, capacity).train()
    opt = torch.optim.AdamW(m.parameters(), lr=1e-4, weight_decay=0.05)
    x = torch.randn(batch, 3, IMG, IMG)
    y = torch.randint(0, CLASSES, (batch,))

    def step():
        opt.zero_grad(set_to_none=True)
        with precision(impl):
            loss = F.cross_entropy(m(x).float(), y)
        loss.backward()
        opt.step()
    med, ts = time_it(step, warmup, reps)
    return batch / med, ts


INFER_ONLY = ("jit", "jitopt", "mkldnn")
ROWS = ["dense"] + [f"mod_{r}_c{c}" for r in ("attention", "linear") for c in ("0500", "0125")]


def row_model(row):
    if row == "dense":
        return "none", 1.0
    _, r, c = row.split("_")
    return r, int(c[1:]) / 1000.0


def check_equivalence(batch=2):
    """The hand and nn implementations must compute the same function."""
    torch.manual_seed(1)
    h = ViT("hand").eval()
    n = ViT("nn").eval()
    sd = {}
    for k, v in h.state_dict().items():
        sd[k] = v
    nsd = n.state_dict()
    for i in range(DEPTH):
        p = f"blocks.{i}."
        a = h.blocks[i]
        nsd[p + "layer.self_attn.in_proj_weight"] = a.attn.qkv.weight
        nsd[p + "layer.self_attn.in_proj_bias"] = a.attn.qkv.bias
        nsd[p + "layer.self_attn.out_proj.weight"] = a.attn.proj.weight
        nsd[p + "layer.self_attn.out_proj.bias"] = a.attn.proj.bias
        nsd[p + "layer.linear1.weight"] = a.fc1.weight
        nsd[p + "layer.linear1.bias"] = a.fc1.bias
        nsd[p + "layer.linear2.weight"] = a.fc2.weight
        nsd[p + "layer.linear2.bias"] = a.fc2.bias
        for nm in ("norm1", "norm2"):
            nsd[p + f"layer.{nm}.weight"] = getattr(a, nm).weight
            nsd[p + f"layer.{nm}.bias"] = getattr(a, nm).bias
    for k in ("patch_embed.weight", "patch_embed.bias", "cls_token", "pos_embed", "norm.weight", "norm.bias",
              "head.weight", "head.bias"):
        nsd[k] = sd[k]
    n.load_state_dict(nsd)
    x = torch.randn(batch, 3, IMG, IMG)
    with torch.no_grad():
        d = (h(x) - n(x)).abs().max().item()
        h.router, n.router = "attention", "attention"
        h.is_mod = n.is_mod = [i % 2 == 1 for i in range(DEPTH)]
        h.k = n.k = mod_tokens(0.5)
        d2 = (h(x) - n(x)).abs().max().item()
    return d, d2


# ------------------------------------------------------- machine load -------


def cpu_jiffies():
    """(busy, total) jiffies of the whole machine, from /proc/stat."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    idle = v[3] + (v[4] if len(v) > 4 else 0)
    return sum(v[:8]) - idle, sum(v[:8])


def wait_quiet(max_wait, busy_max=0.15, probe_s=1.0):
    """Waits (up to max_wait s) until the machine's busy share over probe_s is
    below busy_max; returns the last busy share seen."""
    t_end = time.time() + max_wait
    while True:
        b0, t0 = cpu_jiffies()
        time.sleep(probe_s)
        b1, t1 = cpu_jiffies()
        busy = (b1 - b0) / max(1, t1 - t0)
        if busy <= busy_max or time.time() >= t_end:
            return busy
        time.sleep(2.0)


def loadavg():
    try:
        with open("/proc/loadavg") as f:
            return [float(x) for x in f.read().split()[:3]]
    except OSError:
        return []


# -------------------------------------------------------------------- child --


def child(cfg):
    """One configuration in a fresh process; prints one JSON line."""
    blas = OpenBLAS()
    torch.set_num_threads(cfg["torch_threads"])
    if cfg["blas_threads"] > 0:
        blas.set_threads(cfg["blas_threads"])
    router, cap = row_model(cfg["row"])
    fn = bench_infer if cfg["mode"] == "infer" else bench_train
    ips, ts = fn(cfg["impl"], router, cap, cfg["batch"], cfg["warmup"], cfg["reps"])
    print(json.dumps({"ips": ips, "times_s": ts, "core": blas.corename(), "blas_threads": blas.threads(),
                      "torch_threads": torch.get_num_threads()}))


# -------------------------------------------------------------------- main --


def read_amod(j):
    """amod's figures as {row: images/s}.  Accepts {"dense_infer": 61.2, ...},
    {"rows": {...}} (values numbers or {"images_per_s": x}), or
    {"rows": [{"row" or "name": "dense_infer", "images_per_s": x}, ...]}."""
    if isinstance(j, dict) and "rows" in j:
        j = j["rows"]
    if isinstance(j, list):
        j = {e.get("row", e.get("name")): e for e in j if isinstance(e, dict)}
    out = {}
    for k, v in j.items():
        if isinstance(v, dict):
            v = v.get("images_per_s", v.get("ips"))
        if isinstance(v, (int, float)):
            out[k] = float(v)
    return out


def cfg_name(c):
    return (f"{c['impl']}, OpenBLAS {c['core']}, torch threads {c['torch_threads']}, OpenBLAS threads "
            f"{c['blas_threads']}{', OMP_WAIT_POLICY=' + c['OMP_WAIT_POLICY'] if c.get('OMP_WAIT_POLICY') else ''}")


def print_table(best, amod, order=None):
    hdr, sep = "| row | PyTorch img/s | best PyTorch configuration |", "|---|---:|---|"
    if amod:
        hdr += " amod img/s | amod / PyTorch |"
        sep += "---:|---:|"
    print(hdr)
    print(sep)
    keys = order or list(best)
    for k in keys:
        if k not in best:
            continue
        c = best[k]
        s = f"| {k} | {c['images_per_s']:.1f} | {cfg_name(c)} |"
        if amod:
            a = amod.get(k)
            s += f" {a:.1f} | {a / c['images_per_s']:.2f}x |" if isinstance(a, (int, float)) and a else " - | - |"
        print(s)


def merge(files, amod_json, json_out):
    """Best run of every configuration over several passes; per row the best
    configuration, and the best one that keeps the inherited OPENBLAS_CORETYPE."""
    runs = {}
    metas = []
    for fn in files:
        with open(fn) as f:
            j = json.loads(f.readline())
        metas.append(j["meta"])
        for t in j["tried"]:
            key = (t["row"], t["impl"], t["core"], t["torch_threads"], t["blas_threads"], t.get("OMP_WAIT_POLICY"))
            r = runs.setdefault(key, {**{k: v for k, v in t.items() if k not in ("times_s", "loadavg",
                                                                                  "busy_before")}, "runs": []})
            r["runs"].append(round(t["images_per_s"], 2))
            r["images_per_s"] = max(r["runs"])
    inherited = next((m.get("OPENBLAS_CORETYPE") for m in metas if m.get("OPENBLAS_CORETYPE")), None)
    order = [f"{r}_{m}" for r in ROWS for m in ("infer", "train")]
    best, best_env = {}, {}
    for r in runs.values():
        k = r["row"]
        if k not in best or r["images_per_s"] > best[k]["images_per_s"]:
            best[k] = r
        if r.get("OPENBLAS_CORETYPE") == inherited and (k not in best_env or
                                                        r["images_per_s"] > best_env[k]["images_per_s"]):
            best_env[k] = r
    print(f"# merged {len(files)} passes, {sum(len(r['runs']) for r in runs.values())} runs of "
          f"{len(runs)} configurations; inherited OPENBLAS_CORETYPE={inherited}")
    print("\n## every configuration (best run [all runs], img/s)\n")
    print("| row | configuration | best img/s | runs |")
    print("|---|---|---:|---|")
    for k in order:
        for r in sorted((r for r in runs.values() if r["row"] == k), key=lambda r: -r["images_per_s"]):
            print(f"| {k} | {cfg_name(r)} | {r['images_per_s']:.1f} | {' '.join(str(x) for x in r['runs'])} |")
    amod = None
    if amod_json:
        with open(amod_json) as f:
            amod = read_amod(json.load(f))
    print("\n## best configuration per row\n")
    print_table(best, amod, order)
    if inherited:
        print(f"\n## best configuration per row keeping OPENBLAS_CORETYPE={inherited}\n")
        print_table(best_env, amod, order)
    if json_out:
        with open(json_out, "w") as f:
            f.write(json.dumps({"metas": metas, "best": best, "best_inherited_coretype": best_env,
                                "configs": list(runs.values())}, separators=(",", ":")) + "\n")
    return 0


def parse_tcfg(s):
    """'T:B' or 'T:B:passive' -> (torch threads, OpenBLAS threads (0 = its own), OMP_WAIT_POLICY or None)."""
    p = s.split(":")
    return int(p[0]), int(p[1]) if len(p) > 1 else 0, (p[2] if len(p) > 2 else None)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--threads", type=int, default=2, help="the most torch threads to try (default 2)")
    ap.add_argument("--rows", default=",".join(ROWS), help="comma list among " + ",".join(ROWS))
    ap.add_argument("--modes", default="infer,train")
    ap.add_argument("--impls", default="hand,nn,jit,jitopt,mkldnn",
                    help="comma list among hand,nn,jit,jitopt,mkldnn (the last three: inference only)")
    ap.add_argument("--cores", default="env,unset",
                    help="comma list: env (OPENBLAS_CORETYPE as inherited), unset (the variable removed: "
                         "OpenBLAS's own detection), or a core name (SkylakeX, Haswell, ...)")
    ap.add_argument("--thread-configs", default=None,
                    help="comma list of TORCH:BLAS[:passive] (BLAS 0 = OpenBLAS's own count, passive = "
                         "OMP_WAIT_POLICY=passive); default T:1,1:0,T:0,T:0:passive with T=--threads")
    ap.add_argument("--sweep-rows", default="dense",
                    help="rows on which every configuration is tried; the other rows run with the best "
                         "configuration found for dense in the same mode ('all': sweep every row)")
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--reps", type=int, default=5, help="timed iterations (inference)")
    ap.add_argument("--train-reps", type=int, default=3, help="timed iterations (training)")
    ap.add_argument("--max-wait", type=float, default=60.0,
                    help="seconds to wait for a quiet machine before each configuration (0: don't)")
    ap.add_argument("--retry-foreign", type=float, default=0.15,
                    help="run a configuration again (at the end) when other processes took more than this share "
                         "of the CPU during it")
    ap.add_argument("--retries", type=int, default=2)
    ap.add_argument("--json-out", default=None, help="also write the result JSON here")
    ap.add_argument("--amod-json", default=None,
                    help="amod's images/s for the same rows ({'dense_infer': ..., ...} or {'rows': {...}}); "
                         "prints amod/PyTorch per row")
    ap.add_argument("--check", action="store_true", help="check hand == nn numerically and exit")
    ap.add_argument("--merge", nargs="+", default=None, metavar="JSON",
                    help="don't measure: merge the --json-out files of several passes (a contended run can only be "
                         "slower, so the best run of each configuration counts) and print the tables")
    ap.add_argument("--child", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()

    if args.child:
        child(json.loads(args.child))
        return 0
    if args.check:
        d, d2 = check_equivalence()
        print(f"max |hand - nn| logits: dense {d:.2e}, mod_attention_c0500 {d2:.2e}")
        return 0 if max(d, d2) < 1e-3 else 1

    if args.merge:
        return merge(args.merge, args.amod_json, args.json_out)

    blas = OpenBLAS()
    T = args.threads
    tcfgs = [parse_tcfg(s) for s in (args.thread_configs.split(",") if args.thread_configs else
                                     ([f"{T}:1", "1:0", f"{T}:0", f"{T}:0:passive"] if T > 1 else ["1:0"]))]
    rows = [r for r in args.rows.split(",") if r]
    modes = [m for m in args.modes.split(",") if m]
    impls = [i for i in args.impls.split(",") if i]
    cores = [c for c in args.cores.split(",") if c]
    sweep_rows = rows if args.sweep_rows == "all" else [r for r in args.sweep_rows.split(",") if r]
    inherited = os.environ.get("OPENBLAS_CORETYPE")
    model_name = "?"
    try:
        with open("/proc/cpuinfo") as f:
            model_name = next(l.split(":", 1)[1].strip() for l in f if l.startswith("model name"))
    except (OSError, StopIteration):
        pass
    meta = {"torch": torch.__version__, "python": sys.executable + " " + platform.python_version(),
            "cpu": model_name, "cores": os.cpu_count(), "batch": args.batch, "openblas": blas.config(),
            "OPENBLAS_CORETYPE": inherited, "OPENBLAS_NUM_THREADS": os.environ.get("OPENBLAS_NUM_THREADS"),
            "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS"), "loadavg_start": loadavg()}
    print(f"# torch {torch.__version__}; {blas.config()}; OPENBLAS_CORETYPE={inherited}; cpu {model_name}; "
          f"load {meta['loadavg_start']}", flush=True)

    results, tried = {}, []

    def run(row, mode, impl, core, tt, bt, wait):
        if impl in INFER_ONLY and mode == "train":
            return None
        env = dict(os.environ)
        if core == "unset":
            env.pop("OPENBLAS_CORETYPE", None)
        elif core != "env":
            env["OPENBLAS_CORETYPE"] = core
        if wait:
            env["OMP_WAIT_POLICY"] = wait
        cfg = {"row": row, "mode": mode, "impl": impl, "torch_threads": tt, "blas_threads": bt,
               "batch": args.batch, "warmup": args.warmup,
               "reps": args.reps if mode == "infer" else args.train_reps}
        busy_before = wait_quiet(args.max_wait) if args.max_wait > 0 else None
        r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        b0, j0 = cpu_jiffies()
        w0 = time.time()
        p = subprocess.run([sys.executable, os.path.abspath(__file__), "--child", json.dumps(cfg)], env=env,
                           capture_output=True, text=True)
        wall = time.time() - w0
        b1, j1 = cpu_jiffies()
        r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        if p.returncode != 0:
            print(f"{row}_{mode} {impl} {core} {tt}:{bt} failed:\n{p.stderr[-2000:]}", file=sys.stderr)
            return None
        res = json.loads(p.stdout.strip().splitlines()[-1])
        # CPU used on the machine during the run by anything but our child, as a share of all cores
        hz = os.sysconf("SC_CLK_TCK")
        own = (r1.ru_utime + r1.ru_stime) - (r0.ru_utime + r0.ru_stime)
        foreign = max(0.0, ((b1 - b0) / hz - own) / (wall * (os.cpu_count() or 1)))
        ts = res["times_s"]
        conf = {"impl": impl, "core": res["core"], "OPENBLAS_CORETYPE": env.get("OPENBLAS_CORETYPE"),
                "torch_threads": res["torch_threads"], "blas_threads": res["blas_threads"],
                "OMP_WAIT_POLICY": wait}
        rec = {"row": f"{row}_{mode}", "images_per_s": round(res["ips"], 3), **conf,
               "times_s": [round(t, 4) for t in ts], "foreign_cpu": round(foreign, 3),
               "busy_before": None if busy_before is None else round(busy_before, 3), "loadavg": loadavg()}
        tried.append(rec)
        print(f"{row}_{mode:5s} impl={impl:4s} core={res['core']:10s} torch={res['torch_threads']} "
              f"blas={res['blas_threads']} wait={wait or '-':7s} {res['ips']:7.2f} img/s "
              f"(median of {len(ts)}, spread {100 * (max(ts) - min(ts)) / statistics.median(ts):.0f}%, "
              f"foreign cpu {100 * foreign:.0f}%)", flush=True)
        key = f"{row}_{mode}"
        if key not in results or res["ips"] > results[key]["images_per_s"]:
            results[key] = {"images_per_s": res["ips"], **conf, "_args": (impl, core, tt, bt, wait)}
        return foreign

    def run_jobs(jobs):
        """Runs the jobs; one during which other processes took more than
        --retry-foreign of the CPU goes to the back of the queue again (up to
        --retries times): a contended run can only be slower, and the best
        run of each configuration counts."""
        pending = [(j, 0) for j in jobs]
        while pending:
            j, tries = pending.pop(0)
            fo = run(*j)
            if fo is not None and fo > args.retry_foreign and tries < args.retries:
                pending.append((j, tries + 1))

    sweep = [r for r in rows if r in sweep_rows]
    run_jobs([(row, mode, impl, core, tt, bt, wait) for mode in modes for row in sweep for core in cores
              for impl in impls for tt, bt, wait in tcfgs if not (impl in INFER_ONLY and mode == "train")])
    rest = []
    for mode in modes:
        ref = next((results[f"{r}_{mode}"]["_args"] for r in sweep if f"{r}_{mode}" in results), None)
        a = ref or (impls[0], cores[-1], T, 1 if T > 1 else 0, None)
        impl = a[0] if a[0] not in INFER_ONLY or mode == "infer" else "hand"
        rest += [(row, mode, impl, *a[1:]) for row in rows if row not in sweep_rows]
    run_jobs(rest)
    meta["loadavg_end"] = loadavg()

    amod = None
    if args.amod_json:
        with open(args.amod_json) as f:
            amod = json.load(f)
        amod = read_amod(amod)

    best = {k: {kk: (round(vv, 3) if kk == "images_per_s" else vv) for kk, vv in v.items() if kk != "_args"}
            for k, v in results.items()}
    out = {"meta": meta, "best": best, "tried": tried}
    if amod:
        out["amod"] = amod
    line = json.dumps(out, separators=(",", ":"))
    print(line)
    if args.json_out:
        with open(args.json_out, "w") as f:
            f.write(line + "\n")

    print()
    print_table(best, amod, [f"{r}_{m}" for r in rows for m in modes])
    return 0


if __name__ == "__main__":
    sys.exit(main())
