# MoD speedup / FLOPs ratio from amod bench JSON files: medians over files (rounds) per row
import glob, json, statistics, sys
files = sys.argv[1:]
v, fr, gf = {}, {}, {}
for f in files:
    for r in json.load(open(f))["rows"]:
        k = (r["batch"], r["mode"], r["row"].rsplit("_", 1)[0])
        v.setdefault(k, []).append(r["images_per_s"]); fr[k] = r["flops_ratio"]; gf.setdefault(k, []).append(r["gflops"])
print("| batch | mode | model | img/s (median; rounds) | GFLOP/s (median) | speedup vs dense | FLOPs ratio | speedup / FLOPs ratio |")
print("|---:|---|---|---:|---:|---:|---:|---:|")
for k in sorted(v, key=lambda k: (-k[0], k[1], k[2] != "dense", k[2])):
    d = statistics.median(v[(k[0], k[1], "dense")]); m = statistics.median(v[k])
    print(f"| {k[0]} | {k[1]} | {k[2]} | {m:.1f} ({' / '.join(f'{x:.1f}' for x in v[k])}) | {statistics.median(gf[k]):.0f} | {m/d:.2f}x | {fr[k]:.2f}x | {m/d/fr[k]:.2f} |")
