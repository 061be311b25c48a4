/**
 * npm run bench:history — the cost of a checkpoint after every cell (issue 12): a full first
 * checkpoint of 1 GiB of arrays and 10^6 small objects, then the incremental checkpoint after a cell
 * that changes a 1 MB variable (bytes written, time, and the kernel's share), undo of one cell that
 * changed < 10 MB in the same kernel (what it reloaded), and a gc. `measure` is the coordinator's round
 * trip of the shim's measure (an upper bound of its kernel time).
 *
 *   npx tsx --conditions=source benchmarks/history.ts [--gib 1] [--small 1000000] [--kishu] [--out FILE.md]
 *
 * With --kishu, Kishu (its own venv, runner/kishu-env.ts) runs the same state and cells in another
 * kernel, committing after every cell as it does, and checks out the commit before the last cell:
 * the same undo step, printed next to ours. --out also writes the printed lines to FILE.md.
 *
 * With --corpus it measures the corpus notebooks instead (history-corpus.ts):
 *   npm run bench:history -- --corpus [--size small|medium] [--only a,b] [--kishu] [--idle-zero] [--repeat N] [--skip-delay | --skip-bytes]
 *     [--lanes subshell,main] [--timeout SEC]
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { launchKernel } from '@nbferry/kernel';
import { checkpoint, undo, type CheckoutReport, type CheckpointResult } from '@nbferry/migrate';
import { Recorder } from '@nbferry/recorder';
import { gc, LocalStore } from '@nbferry/store';
import { repoRoot, testPython } from '../test/support/python.js';
import { historyCorpus } from './history-corpus.js';
import { ensureKishuEnv } from './runner/kishu-env.js';
import { callHelper } from './runner/python-call.js';

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
    out: { type: 'string', default: '' },
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

/** Lines printed, kept for --out. */
const printed: string[] = [];
function print(text: string): void {
  printed.push(text);
  console.log(text);
}

/** The undo times, for the side-by-side summary. */
const undoMs: Record<string, number> = {};

async function timedUndo(label: string, recorder: Recorder, store: LocalStore): Promise<string> {
  const started = performance.now();
  const report: CheckoutReport = await undo(recorder, store);
  const ms = performance.now() - started;
  undoMs[label] = ms;
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
  if (values.kishu) await kishuUndo();
  if (values.out) {
    const settings = `settings: --gib ${gib} --small ${small}${values.kishu ? ' --kishu' : ''}; ${new Date().toISOString()}`;
    await writeFile(values.out, `# bench:history (synthetic)\n\n${settings}\n\n\`\`\`\n${printed.join('\n')}\n\`\`\`\n`);
  }
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
    print(`state: ${gib} GiB of arrays in ${arrays} arrays, ${small.toLocaleString()} small objects, a 1 MiB array (mb)`);
    print(line('first checkpoint (full)', await checkpoint(recorder, store)));
    print(line('no cell since (incremental)', await checkpoint(recorder, store)));
    await kernel.client.execute('mb = mb * 2');
    print(line('after `mb = mb * 2` (incremental)', await checkpoint(recorder, store)));
    await kernel.client.execute('mb[:10] = 0');
    print(line('after `mb[:10] = 0` (incremental)', await checkpoint(recorder, store)));
    print(line('same, not incremental (dedup only)', await checkpoint(recorder, store, { incremental: false })));
    await kernel.client.execute('mb = mb + 1\nsmall = list(range(1000))');
    print(line('after `mb = mb + 1` (incremental)', await checkpoint(recorder, store)));
    print(await timedUndo('undo that cell (same kernel)', recorder, store));
    await kernel.client.execute('mb = mb * 3');
    print(await timedUndo('undo `mb = mb * 3` (not checkpointed)', recorder, store));
    const started = performance.now();
    const swept = await gc(store, { keep: 1 });
    print(`gc keep 1: ${(performance.now() - started).toFixed(0)} ms, ${swept.deletedCheckpoints.length} checkpoints and ${swept.deletedChunks} chunks (${(swept.freedBytes / MiB).toFixed(1)} MiB) deleted`);
  } finally {
    await kernel.dispose();
    await rm(dir, { recursive: true, force: true });
  }
}

/** The state and cells of synthetic(), in a kernel of Kishu's venv, Kishu committing after every cell. */
async function kishuUndo(): Promise<void> {
  const env = await ensureKishuEnv(repoRoot, testPython(), (l) => print(l));
  if ('unavailable' in env) {
    print(`kishu: ${env.unavailable}`);
    return;
  }
  const dir = await mkdtemp(join(tmpdir(), 'nbf-bench-history-kishu-'));
  await mkdir(join(dir, 'home'));
  // Kishu finds its notebook by path (headless test mode) and keeps its database beside it.
  const notebook = join(dir, 'history.ipynb');
  await writeFile(notebook, JSON.stringify({ cells: [], metadata: {}, nbformat: 4, nbformat_minor: 5 }));
  const kernel = await launchKernel({
    python: env.python,
    cwd: dir,
    env: { ...process.env, TEST_NOTEBOOK_PATH: notebook, ENV_KISHU_TEST_MODE: '1', KISHU_PATH_ROOT: join(dir, 'home') } as Record<string, string>,
  });
  const signal = AbortSignal.timeout(3_600_000);
  const cell = async (code: string) => {
    const started = performance.now();
    const result = await kernel.client.execute(code, { signal });
    if (result.status !== 'ok') throw new Error(`kishu run: ${result.error?.ename}: ${result.error?.evalue}`);
    return performance.now() - started;
  };
  try {
    print(`kishu ${env.version}: the same state, made by a cell after Kishu attached (it commits after every cell)`);
    await callHelper(kernel.client, 'bench_kishu', 'init', [notebook], signal, { inCell: true });
    const arrays = Math.max(1, Math.round(gib * 8));
    const setupMs = await cell(
      `import numpy as np\nrng = np.random.default_rng(1)\narrays = [rng.random(${Math.round((gib * 1024 ** 3) / 8 / arrays)}) for _ in range(${arrays})]\n` +
        `objects = [{"i": i, "s": str(i)} for i in range(${small})]\nmb = rng.random(131_072)`,
    );
    print(`kishu: state cell with its commit ${setupMs.toFixed(0)} ms`);
    for (const code of ['mb = mb * 2', 'mb[:10] = 0']) print(`kishu: \`${code}\` with its commit ${(await cell(code)).toFixed(0)} ms`);
    const before = await callHelper<{ commit: string }>(kernel.client, 'bench_kishu', 'head', [''], signal, { inCell: true });
    print(`kishu: \`mb = mb + 1\` with its commit ${(await cell('mb = mb + 1\nsmall = list(range(1000))')).toFixed(0)} ms`);
    const checkout = await callHelper<{ seconds: number; message: string }>(kernel.client, 'bench_kishu', 'checkout', [before.value.commit], signal, { inCell: true });
    const back = await kernel.client.execute('', { silent: true, userExpressions: { v: 'repr((round(float(mb[:10].sum()), 6), "small" in globals()))' } });
    const state = back.userExpressions.v?.status === 'ok' ? String(back.userExpressions.v.data['text/plain']) : 'unknown';
    print(`${'kishu checkout of that step'.padEnd(34)} total ${checkout.ms.toFixed(0).padStart(6)} ms (Kishu's own ${(checkout.value.seconds * 1000).toFixed(0)} ms)  ${checkout.value.message}; after it (mb[:10].sum(), small defined) = ${state}`);
    const ours = undoMs['undo that cell (same kernel)'];
    print('');
    print(`undo of one cell that changed ~1 MiB (target ≤ 200 ms): nbferry ${ours?.toFixed(0) ?? '?'} ms, Kishu checkout ${checkout.ms.toFixed(0)} ms`);
  } finally {
    await kernel.dispose();
    await rm(dir, { recursive: true, force: true });
  }
}
