/**
 * npm run bench:history — the cost of a checkpoint after every cell (issue 12): a full first
 * checkpoint of 1 GiB of arrays and 10^6 small objects, then the incremental checkpoint after a cell
 * that changes a 1 MB variable (bytes written, time, and the kernel's share), undo of one cell that
 * changed < 10 MB in the same kernel (what it reloaded), and a gc. `measure` is the coordinator's round
 * trip of the shim's measure (an upper bound of its kernel time).
 *
 *   npx tsx --conditions=source benchmarks/history.ts [--gib 1] [--small 1000000]
 *
 * With --corpus it measures the corpus notebooks instead (history-corpus.ts):
 *   npm run bench:history -- --corpus [--size small|medium] [--only a,b] [--kishu] [--idle-zero] [--repeat N] [--skip-delay | --skip-bytes]
 *     [--lanes subshell,main] [--timeout SEC]
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { launchKernel } from '@nbferry/kernel';
import { checkpoint, undo, type CheckoutReport, type CheckpointResult } from '@nbferry/migrate';
import { Recorder } from '@nbferry/recorder';
import { gc, LocalStore } from '@nbferry/store';
import { repoRoot, testPython } from '../test/support/python.js';
import { historyCorpus } from './history-corpus.js';

const { values } = parseArgs({
  options: {
    gib: { type: 'string', default: '1' },
    small: { type: 'string', default: '1000000' },
    corpus: { type: 'boolean', default: false },
    size: { type: 'string', default: 'small' },
    only: { type: 'string', default: '' },
    kishu: { type: 'boolean', default: false },
    'idle-zero': { type: 'boolean', default: false },
    timeout: { type: 'string', default: '900' },
    repeat: { type: 'string', default: '3' },
    'skip-delay': { type: 'boolean', default: false },
    'skip-bytes': { type: 'boolean', default: false },
    lanes: { type: 'string', default: 'subshell' },
  },
});
const gib = Number(values.gib);
const small = Number(values.small);
const MiB = 1024 * 1024;

function line(label: string, result: CheckpointResult): string {
  const t = result.timings;
  const stats = result.checkpoint.manifest.stats!;
  return `${label.padEnd(34)} total ${t.totalMs.toFixed(0).padStart(6)} ms (measure ${t.measureMs.toFixed(0)} ms, save ${t.saveMs.toFixed(0)} ms, commit ${t.commitMs.toFixed(0)} ms)  written ${(stats.newBytes / MiB).toFixed(2).padStart(8)} MiB of ${(stats.totalBytes / MiB).toFixed(0)} MiB  reused groups ${result.reused.length}, measurement reused for ${result.measureReused?.length ?? 0}`;
}

async function timedUndo(label: string, recorder: Recorder, store: LocalStore): Promise<string> {
  const started = performance.now();
  const report: CheckoutReport = await undo(recorder, store);
  const ms = performance.now() - started;
  const t = report.timings;
  return `${label.padEnd(34)} total ${ms.toFixed(0).padStart(6)} ms (replay ${t.replayMs.toFixed(0)} ms, verify ${t.verifyMs.toFixed(0)} ms)  loaded ${report.loadedGroups} groups ${((report.loadedBytes ?? 0) / MiB).toFixed(2)} MiB, reran ${report.rerunCells} cells, kept ${report.keptGroups?.length ?? 0} groups, verified ${report.verification.ok ? 'ok' : 'NOT ok'}`;
}

if (values.corpus) {
  if (!['small', 'medium', 'large'].includes(values.size)) throw new Error('--size must be small, medium or large');
  await historyCorpus({
    repoRoot,
    python: testPython(),
    size: values.size,
    only: values.only.split(',').filter((o) => o !== ''),
    kishu: values.kishu,
    idleZero: values['idle-zero'],
    timeoutSec: Number(values.timeout),
    repeat: Number(values.repeat),
    skipDelay: values['skip-delay'],
    skipBytes: values['skip-bytes'],
    lanes: values.lanes.split(',').map((lane) => {
      if (lane !== 'subshell' && lane !== 'main') throw new Error(`--lanes: ${lane} is not subshell or main`);
      return lane;
    }),
  });
} else {
  await synthetic();
}

async function synthetic(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'nbf-bench-history-'));
  const kernel = await launchKernel({ python: testPython(), cwd: dir });
  try {
    const arrays = Math.max(1, Math.round(gib * 8));
    // State from before recording (unknown provenance): it must be saved, as a long session's would.
    await kernel.client.execute(
      `import numpy as np\nrng = np.random.default_rng(1)\narrays = [rng.random(${Math.round((gib * 1024 ** 3) / 8 / arrays)}) for _ in range(${arrays})]\n` +
        `objects = [{"i": i, "s": str(i)} for i in range(${small})]\nmb = rng.random(131_072)`,
      { silent: true },
    );
    const recorder = await Recorder.attach(kernel.client);
    const store = new LocalStore(join(dir, 'store'));
    console.log(`state: ${gib} GiB of arrays in ${arrays} arrays, ${small.toLocaleString()} small objects, a 1 MiB array (mb)`);
    console.log(line('first checkpoint (full)', await checkpoint(recorder, store)));
    console.log(line('no cell since (incremental)', await checkpoint(recorder, store)));
    await kernel.client.execute('mb = mb * 2');
    console.log(line('after `mb = mb * 2` (incremental)', await checkpoint(recorder, store)));
    await kernel.client.execute('mb[:10] = 0');
    console.log(line('after `mb[:10] = 0` (incremental)', await checkpoint(recorder, store)));
    console.log(line('same, not incremental (dedup only)', await checkpoint(recorder, store, { incremental: false })));
    await kernel.client.execute('mb = mb + 1\nsmall = list(range(1000))');
    console.log(line('after `mb = mb + 1` (incremental)', await checkpoint(recorder, store)));
    console.log(await timedUndo('undo that cell (same kernel)', recorder, store));
    await kernel.client.execute('mb = mb * 3');
    console.log(await timedUndo('undo `mb = mb * 3` (not checkpointed)', recorder, store));
    const started = performance.now();
    const swept = await gc(store, { keep: 1 });
    console.log(`gc keep 1: ${(performance.now() - started).toFixed(0)} ms, ${swept.deletedCheckpoints.length} checkpoints and ${swept.deletedChunks} chunks (${(swept.freedBytes / MiB).toFixed(1)} MiB) deleted`);
  } finally {
    await kernel.dispose();
    await rm(dir, { recursive: true, force: true });
  }
}
