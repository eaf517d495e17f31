#!/usr/bin/python3
"""Plain-torch greedy decoding with a KV cache, for amod generate's tokens/s (bench/decode.sh).

A GPT-2-shaped causal LM with random weights (pre-norm blocks, tanh GELU, learned positions,
tied or untied head does not matter for speed), batch 1: a prompt is prefilled, then each new
token runs every layer on one row, appending its key and value to the cache.

    /usr/bin/python3 bench/torch_decode.py [--layers 12] [--width 768] [--heads 12] [--vocab 256]
        [--prompt 32] [--tokens 128] [--threads 2] [--reps 3]

Prints one JSON line: {"tokens_per_s": ..., "prefill_ms": ..., ...} (median of --reps runs).
"""
import argparse
import json
import statistics
import time

import torch
import torch.nn.functional as F


class Block(torch.nn.Module):
    def __init__(self, d, h):
        super().__init__()
        self.h = h
        self.ln1 = torch.nn.LayerNorm(d)
        self.qkv = torch.nn.Linear(d, 3 * d)
        self.proj = torch.nn.Linear(d, d)
        self.ln2 = torch.nn.LayerNorm(d)
        self.fc = torch.nn.Linear(d, 4 * d)
        self.out = torch.nn.Linear(4 * d, d)

    def forward(self, x, cache):
        B, T, D = x.shape
        q, k, v = self.qkv(self.ln1(x)).split(D, dim=2)
        q, k, v = (t.view(B, T, self.h, D // self.h).transpose(1, 2) for t in (q, k, v))
        if cache is not None:
            k = torch.cat([cache[0], k], dim=2)
            v = torch.cat([cache[1], v], dim=2)
        a = q @ k.transpose(-2, -1) / (D // self.h) ** 0.5
        if T > 1:  # prefill: causal mask; a single new token sees the whole cache
            a = a.masked_fill(torch.ones(T, T, dtype=torch.bool).triu(1), float("-inf"))
        y = (a.softmax(-1) @ v).transpose(1, 2).reshape(B, T, D)
        x = x + self.proj(y)
        x = x + self.out(F.gelu(self.fc(self.ln2(x)), approximate="tanh"))
        return x, (k, v)


class LM(torch.nn.Module):
    def __init__(self, layers, d, h, vocab, ctx):
        super().__init__()
        self.wte = torch.nn.Embedding(vocab, d)
        self.wpe = torch.nn.Embedding(ctx, d)
        self.blocks = torch.nn.ModuleList([Block(d, h) for _ in range(layers)])
        self.ln = torch.nn.LayerNorm(d)
        self.head = torch.nn.Linear(d, vocab, bias=False)

    def forward(self, ids, pos0, caches):
        x = self.wte(ids) + self.wpe(torch.arange(pos0, pos0 + ids.shape[1]))[None]
        new = []
        for blk, c in zip(self.blocks, caches):
            x, kv = blk(x, c)
            new.append(kv)
        return self.head(self.ln(x[:, -1])), new


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--layers", type=int, default=12)
    ap.add_argument("--width", type=int, default=768)
    ap.add_argument("--heads", type=int, default=12)
    ap.add_argument("--vocab", type=int, default=256)
    ap.add_argument("--prompt", type=int, default=32)
    ap.add_argument("--tokens", type=int, default=128)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--reps", type=int, default=3)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    m = LM(a.layers, a.width, a.heads, a.vocab, a.prompt + a.tokens + 1).eval()
    prompt = torch.randint(0, a.vocab, (1, a.prompt))
    decode, prefill = [], []
    with torch.inference_mode():
        for _ in range(a.reps + 1):
            t0 = time.perf_counter()
            logits, caches = m(prompt, 0, [None] * a.layers)
            t1 = time.perf_counter()
            tok = logits.argmax(-1, keepdim=True)
            for i in range(a.tokens - 1):
                logits, caches = m(tok, a.prompt + i, caches)
                tok = logits.argmax(-1, keepdim=True)
            t2 = time.perf_counter()
            prefill.append(t1 - t0)
            decode.append((a.tokens - 1) / (t2 - t1))
    print(json.dumps({"engine": "torch", "torch": torch.__version__, "threads": a.threads, "layers": a.layers,
                      "width": a.width, "tokens": a.tokens, "prompt": a.prompt,
                      "tokens_per_s": statistics.median(decode[1:]),
                      "prefill_ms": 1e3 * statistics.median(prefill[1:])}))


if __name__ == "__main__":
    main()
