// ONNX Runtime (npm onnxruntime-node, CPU execution provider) on the models that
// bench/ort/export_onnx.py wrote: checks each against torch's logits, then times it.
//
//   node bench/ort/ort_vit.mjs --dir DIR --modules NODE_MODULES [--rows dense,...]
//        [--batch 32,1] [--threads 2] [--warmup 2] [--iters 10]
//
// Prints one JSON object per line: {row, batch, threads, images_per_s, ms_per_step,
// check_rel_err}. Exits non-zero when a model's output differs from torch's by more than
// 1e-4 (relative max error), before any timing.
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import path from 'node:path';

const args = Object.fromEntries(
  process.argv.slice(2).reduce((acc, a, i, all) => (a.startsWith('--') ? [...acc, [a.slice(2), all[i + 1]]] : acc), []));
const dir = args.dir, modules = args.modules;
if (!dir || !modules) {
  console.error('usage: ort_vit.mjs --dir DIR --modules NODE_MODULES [--rows R,..] [--batch 32,1] [--threads 2]');
  process.exit(2);
}
const require = createRequire(path.join(path.resolve(modules), 'x.js'));
const ort = require('onnxruntime-node');
const rows = (args.rows || 'dense,mod_attention_c0500,mod_attention_c0125,mod_linear_c0500,mod_linear_c0125').split(',');
const batches = (args.batch || '32').split(',').map(Number);
const threads = Number(args.threads || 2), warmup = Number(args.warmup || 2), iters = Number(args.iters || 10);

function floats(file) {
  const b = readFileSync(file);
  return new Float32Array(b.buffer, b.byteOffset, b.length / 4);
}

const checkIn = floats(path.join(dir, 'check_in.bin'));
let bad = 0;
for (const row of rows) {
  const session = await ort.InferenceSession.create(path.join(dir, row + '.onnx'), {
    executionProviders: ['cpu'], intraOpNumThreads: threads, interOpNumThreads: 1,
    graphOptimizationLevel: 'all', executionMode: 'sequential',
  });
  const ref = floats(path.join(dir, row + '.ref.bin'));
  const out = (await session.run({ images: new ort.Tensor('float32', checkIn, [2, 3, 224, 224]) })).logits.data;
  let num = 0, den = 0;
  for (let i = 0; i < ref.length; i++) {
    num = Math.max(num, Math.abs(out[i] - ref[i]));
    den = Math.max(den, Math.abs(ref[i]));
  }
  const rel = num / Math.max(den, 1e-30);
  if (!(rel < 1e-4)) {
    console.error(`${row}: ONNX Runtime differs from torch by ${rel} (relative max error): not timed`);
    bad++;
    continue;
  }
  for (const b of batches) {
    const x = new Float32Array(b * 3 * 224 * 224);
    for (let i = 0; i < x.length; i++) x[i] = Math.sin(i * 12.9898) * 0.5;
    const feeds = { images: new ort.Tensor('float32', x, [b, 3, 224, 224]) };
    for (let i = 0; i < warmup; i++) await session.run(feeds);
    const t = [];
    for (let i = 0; i < iters; i++) {
      const t0 = process.hrtime.bigint();
      await session.run(feeds);
      t.push(Number(process.hrtime.bigint() - t0) * 1e-9);
    }
    t.sort((p, q) => p - q);
    const med = iters % 2 ? t[(iters - 1) / 2] : 0.5 * (t[iters / 2 - 1] + t[iters / 2]);
    console.log(JSON.stringify({ row, batch: b, threads, images_per_s: b / med, ms_per_step: med * 1e3, check_rel_err: rel }));
  }
  await session.release();
}
process.exit(bad ? 1 : 0);
