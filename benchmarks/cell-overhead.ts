/**
 * Per-cell recording overhead of one notebook: a recorded and an unrecorded kernel run the same
 * cells; each cell's wall time (execute request → reply + idle) is compared, along with the
 * shim's own measure of its hooks (each record's `recordingMs`). Medians over repeats; the two
 * kernels alternate which runs first.
 *
 *   npx tsx --conditions=source benchmarks/cell-overhead.ts NOTEBOOK [--size small|medium] [--repeat N] [--think MS]
 *
 * `--think MS` waits that long between cells (a person reading the output); 0, the default, sends
 * each cell as soon as the previous one is idle, as "Run All" and the suite do.
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { launchKernel } from '@nbferry/kernel';
import { parseNotebook } from '@nbferry/protocol';
import { Recorder } from '@nbferry/recorder';
import { median } from './stats.js';

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: { size: { type: 'string', default: 'small' }, think: { type: 'string', default: '0' }, repeat: { type: 'string', default: '1' }, python: { type: 'string', default: '.venv/bin/python' } },
});
const path = resolve(positionals[0] ?? 'benchmarks/notebooks/creditcard_fraud.ipynb');
const nb = parseNotebook(readFileSync(path, 'utf8'), path);
const env = { NBFERRY_DATA_SIZE: values.size! };
const think = Number(values.think);

async function run(recorded: boolean): Promise<{ cell: number[]; hook: number[] }> {
  const kernel = await launchKernel({ python: resolve(values.python!), cwd: dirname(path), env });
  try {
    const recorder = recorded ? await Recorder.attach(kernel.client) : undefined;
    const cell: number[] = [];
    for (const c of nb.cells) {
      const t0 = performance.now();
      await kernel.client.execute(c.source, { cellId: c.id, stopOnError: false });
      cell.push(performance.now() - t0);
      if (think > 0) await new Promise((r) => setTimeout(r, think));
    }
    const hook: number[] = [];
    if (recorder) {
      await recorder.sync();
      const hooks = new Map<string, number>();
      for (const exec of recorder.graph.executions) if (exec.cellId) hooks.set(exec.cellId, exec.recordingMs);
      for (const c of nb.cells) hook.push(hooks.get(c.id ?? '') ?? NaN);
    }
    return { cell, hook };
  } finally {
    await kernel.dispose();
  }
}

const reps = Number(values.repeat);
const rec: number[][] = [];
const plain: number[][] = [];
const hook: number[][] = [];
for (let i = 0; i < reps; i++) {
  const order = i % 2 === 0 ? [true, false] : [false, true];
  for (const r of order) {
    const out = await run(r);
    (r ? rec : plain).push(out.cell);
    if (r) hook.push(out.hook);
  }
}
let totR = 0;
let totP = 0;
console.log('cell   plain ms   recorded ms   diff ms   hook ms   first line');
nb.cells.forEach((c, i) => {
  const p = median(plain.map((x) => x[i]!));
  const r = median(rec.map((x) => x[i]!));
  const h = median(hook.map((x) => x[i]!));
  totP += p; totR += r;
  console.log(`${String(i + 1).padStart(4)} ${p.toFixed(1).padStart(10)} ${r.toFixed(1).padStart(13)} ${(r - p).toFixed(1).padStart(9)} ${h.toFixed(1).padStart(9)}   ${c.source.split('\n')[0]!.slice(0, 50)}`);
});
// The suite's "shim hooks" figure (benchmarks/runner/summary.ts): hook time over recorded cell time without it.
const totH = nb.cells.reduce((a, _, i) => a + (median(hook.map((x) => x[i]!)) || 0), 0);
console.log(`shim hooks ${totH.toFixed(1)} ms over ${(totR - totH).toFixed(0)} ms of cells: ${(100 * totH / (totR - totH)).toFixed(2)}%`);
console.log(`total ${totP.toFixed(0)} ms plain, ${totR.toFixed(0)} ms recorded: ${(100 * (totR / totP - 1)).toFixed(1)}%`);
