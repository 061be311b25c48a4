/**
 * npm run bench:load — N concurrent migrations on this machine: N recorded source kernels with a
 * small state each, then all at once: checkpoint, start a fresh target, restore, verify. For N in
 * 4, 8, 16, 32, into one shared store and into one store per migration. Prints throughput
 * (migrations/s over the batch's wall time), p50/p95 of one migration's time, and checks that
 * every variable of every migration came back (restored, or recomputed equal).
 *
 *   npm run bench:load                                  # 4,8,16,32 kernels, shared and separate stores
 *   npm run bench:load -- --counts 4,8,16 --stores shared
 *
 * Sources are started and filled before the clock starts (a few at a time, so their start-up is
 * not what is measured); the migrations themselves, target start-up included, run all at once.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { launchKernel, type Kernel } from '@nbferry/kernel';
import { checkpoint, restore } from '@nbferry/migrate';
import { Recorder } from '@nbferry/recorder';
import { LocalStore } from '@nbferry/store';
import { testPython } from '../test/support/python.js';
import { median, quantile } from './stats.js';

const { values: args } = parseArgs({
  options: {
    counts: { type: 'string', default: '4,8,16,32' },
    stores: { type: 'string', default: 'shared,separate' },
  },
});
const counts = args.counts.split(',').map(Number);
const storeModes = args.stores.split(',') as ('shared' | 'separate')[];
for (const n of counts) if (!Number.isInteger(n) || n < 1) throw new Error(`--counts: ${args.counts} is not a list of positive integers`);
for (const mode of storeModes) if (mode !== 'shared' && mode !== 'separate') throw new Error(`--stores: ${mode} is neither shared nor separate`);

const python = testPython();
/** Generous: 32 kernels starting at once on 2 cores take a while; a timeout here is a failure, not a figure. */
const START_TIMEOUT_MS = 600_000;

/** A small recorded state: numpy and pandas values, a notebook function and class, seeded randomness, one value of unknown provenance. */
const CELLS = [
  'import numpy as np\nimport pandas as pd',
  'rng = np.random.default_rng(7)\nX = rng.normal(size=(2000, 8))\ny = (X[:, 0] > 0).astype(int)',
  'df = pd.DataFrame(X, columns=[f"f{i}" for i in range(8)])\ndf["label"] = y\nstats = df.describe()',
  'def scale(v, k=2.0):\n    return v * k\nclass Box:\n    def __init__(self, v): self.v = v\nbox = Box(scale(X[:10]))',
  'counts = {str(i): int(v) for i, v in enumerate(np.bincount(y))}\nwords = ["alpha", "beta", "gamma"] * 100',
];
const EXPECTED = ['np', 'pd', 'rng', 'X', 'y', 'df', 'stats', 'scale', 'Box', 'box', 'counts', 'words', 'secret'];

interface Source {
  kernel: Kernel;
  recorder: Recorder;
}

async function startSource(): Promise<Source> {
  const kernel = await launchKernel({ python, timeoutMs: START_TIMEOUT_MS });
  const recorder = await Recorder.attach(kernel.client);
  for (const code of CELLS) {
    const result = await kernel.client.execute(code);
    if (result.status !== 'ok') throw new Error(`source cell failed: ${result.error?.ename}: ${result.error?.evalue}`);
  }
  await kernel.client.execute('secret = list(range(1000))', { silent: true }); // unknown provenance: must be saved
  return { kernel, recorder };
}

/** Runs `task` on every item, at most `limit` at a time. */
async function pooled<T, R>(items: readonly T[], limit: number, task: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await task(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

interface Outcome {
  ms: number;
  verified: boolean;
  detail: string;
}

/** One migration: checkpoint, start a target, restore, verify every expected variable. */
async function migrateOne(source: Source, storeDir: string, targets: Kernel[]): Promise<Outcome> {
  const t0 = performance.now();
  const saved = await checkpoint(source.recorder, new LocalStore(storeDir));
  const target = await launchKernel({ python, timeoutMs: START_TIMEOUT_MS });
  targets.push(target);
  const report = await restore(saved.checkpoint, target.client);
  const ms = performance.now() - t0;
  const good = new Set(report.verification.variables.filter((v) => v.outcome === 'restored' || v.outcome === 'recomputed-equal').map((v) => v.name));
  const missing = EXPECTED.filter((name) => !good.has(name));
  const verified = report.verification.ok && missing.length === 0;
  return { ms, verified, detail: verified ? '' : `not verified: ${missing.join(', ')}; ${report.fallbacks.join('; ')}` };
}

interface Row {
  n: number;
  mode: 'shared' | 'separate';
  wallSec: number;
  outcomes: Outcome[];
}

async function batch(n: number, mode: 'shared' | 'separate'): Promise<Row> {
  const root = await mkdtemp(join(tmpdir(), `nbf-bench-load-${n}-`));
  const sources = await pooled(Array.from({ length: n }, (_, i) => i), 4, () => startSource());
  const targets: Kernel[] = [];
  try {
    const t0 = performance.now();
    const outcomes = await Promise.all(
      sources.map((source, i) =>
        migrateOne(source, mode === 'shared' ? join(root, 'store') : join(root, `store-${i}`), targets).catch(
          (error: unknown): Outcome => ({ ms: performance.now() - t0, verified: false, detail: `failed: ${(error as Error).message}` }),
        ),
      ),
    );
    return { n, mode, wallSec: (performance.now() - t0) / 1000, outcomes };
  } finally {
    await Promise.allSettled([...sources.map((s) => s.kernel.dispose()), ...targets.map((t) => t.dispose())]);
    await rm(root, { recursive: true, force: true });
  }
}

console.log(`nbferry load: N concurrent migrations of a small recorded state (${EXPECTED.length} variables) on ${cpus().length} cores`);
console.log('  N  store     migrations/s   p50 migration   p95 migration   verified');
let failures = 0;
for (const n of counts) {
  for (const mode of storeModes) {
    const row = await batch(n, mode);
    const times = row.outcomes.map((o) => o.ms / 1000);
    const verified = row.outcomes.filter((o) => o.verified).length;
    failures += row.n - verified;
    console.log(
      `${String(n).padStart(3)}  ${mode.padEnd(9)} ${(n / row.wallSec).toFixed(2).padStart(10)}     ` +
        `${median(times).toFixed(2).padStart(8)} s      ${quantile(times, 0.95).toFixed(2).padStart(8)} s      ${verified}/${n}`,
    );
    for (const o of row.outcomes.filter((x) => !x.verified)) console.log(`     ${o.detail}`);
  }
}
if (failures > 0) {
  console.log(`${failures} migration(s) did not verify`);
  process.exitCode = 1;
}
