#!/usr/bin/python3
"""Exports DeiT-Tiny dense and Mixture-of-Depths (attention and linear routers, C = 0.5 and
0.125) to ONNX for the ONNX Runtime side by side (bench/ort/compare_ort.sh).

The models are bench/torch_vit.py's plain-torch DeiT-Tiny (3 x 224 x 224, 1000 classes, the
shapes of amod's deit_tiny_patch16_224 preset); a MoD layer exports as TopK (the router's top
k-1 patch tokens, sorted back into their order by a second TopK), Gather of those rows, the
block, and ScatterElements back into the residual stream. For each model it also writes a
check batch: check_in.bin (float32 [2,3,224,224]) and ROW.ref.bin (torch's logits), which the
timing script compares ONNX Runtime's output with before it times anything.

    /usr/bin/python3 bench/ort/export_onnx.py OUT_DIR
"""
import os
import sys

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import torch_vit as tv  # noqa: E402

ROWS = ["dense", "mod_attention_c0500", "mod_attention_c0125", "mod_linear_c0500", "mod_linear_c0125"]


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: export_onnx.py OUT_DIR")
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    torch.manual_seed(123)
    x = torch.randn(2, 3, tv.IMG, tv.IMG)
    x.numpy().tofile(os.path.join(out, "check_in.bin"))
    for row in ROWS:
        router, cap = tv.row_model(row)
        m = tv.make_model("hand", router, cap, seed=7).eval()
        with torch.no_grad():
            ref = m(x)
        ref.numpy().tofile(os.path.join(out, row + ".ref.bin"))
        path = os.path.join(out, row + ".onnx")
        tmp = path + ".tmp"
        with torch.no_grad():
            torch.onnx.export(m, x, tmp, opset_version=13, input_names=["images"], output_names=["logits"],
                              dynamic_axes={"images": {0: "batch"}, "logits": {0: "batch"}},
                              do_constant_folding=True)
        os.replace(tmp, path)
        print(f"{row}: {path} (k = {m.k} of {tv.NTOK} tokens in MoD layers)", flush=True)


if __name__ == "__main__":
    main()
