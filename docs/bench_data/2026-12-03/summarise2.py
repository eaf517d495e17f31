import glob, json, statistics, sys
O = sys.argv[1] if len(sys.argv) > 1 else "runs/full/out2"
def amod(p):
    v = {}
    for f in sorted(glob.glob(f"{O}/amod_{p}_*.json")):
        for row in json.load(open(f))["rows"]:
            if row["batch"] == 32: v.setdefault(row["row"], []).append(row["images_per_s"])
    return v
def torch(kind):
    v, cfg = {}, {}
    for f in sorted(glob.glob(f"{O}/torch_{kind}_*.json")):
        d = json.load(open(f))
        for k, b in d["best"].items():
            v.setdefault(k, []).append(b["images_per_s"])
            cfg.setdefault(k, set()).add(f'{b["impl"]} {b["torch_threads"]}:{b["blas_threads"]}')
    return v, cfg
af, ab = amod("f32"), amod("bf16")
tf, tfc = torch("f32")
tb, tbc = torch("bf16")
med = lambda x: statistics.median(x) if x else float("nan")
fmt = lambda x: " / ".join(f"{y:.1f}" for y in x)
print("| row | amod f32 | PyTorch f32 best (config) | amod/torch f32 | amod bf16 | PyTorch bf16 autocast | amod/torch bf16 | amod best / PyTorch best |")
print("|---|---:|---:|---:|---:|---:|---:|---:|")
for k in af:
    a, b, c, d = med(af[k]), med(tf.get(k, [])), med(ab.get(k, [])), med(tb.get(k, []))
    print(f"| {k} | {a:.1f} ({fmt(af[k])}) | {b:.1f} ({fmt(tf.get(k, []))}; {', '.join(sorted(tfc.get(k, [])))}) | {a/b:.2f}x | {c:.1f} ({fmt(ab.get(k, []))}) | {d:.1f} ({fmt(tb.get(k, []))}) | {c/d:.2f}x | {max(a,c)/max(b,d):.2f}x |")
