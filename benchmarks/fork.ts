/**
 * npm run bench:fork — fork and the warm pool (issue 17), side by side in one run on one state:
 *   - one migration (checkpoint + restore into one new kernel that starts while the source
 *     checkpoints: `fork(…, 1)`) against a fork to N kernels (target: ≤ 1.5× the migration);
 *   - both again with the new kernels taken from a warm pool filled beforehand;
 *   - a restore of an existing checkpoint into a cold kernel (start + imports + load + verify)
 *     against one into a pooled kernel: what a platform's user waits for.
 * Each measurement is repeated (--repeat, alternating cold and pooled); medians are printed and
 * written to benchmarks/results/fork.{json,md}.
 *
 *   npm run bench:fork -- [--mib 256] [--count 4] [--repeat 3]
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { launchKernel, type LaunchOptions } from '@nbferry/kernel';
import { checkpoint, fork, restore, restoreToNewKernel, WarmPool, type ForkResult } from '@nbferry/migrate';
import { Recorder } from '@nbferry/recorder';
import { LocalStore } from '@nbferry/store';
import { repoRoot, testPython } from '../test/support/python.js';
import { fmtMs, median } from './stats.js';

const { values } = parseArgs({
  options: {
    mib: { type: 'string', default: '256' },
    count: { type: 'string', default: '4' },
    repeat: { type: 'string', default: '3' },
  },
});
const mib = Number(values.mib);
const count = Number(values.count);
const repeat = Number(values.repeat);
const MODULES = ['numpy', 'pandas'];

const dir = await mkdtemp(join(tmpdir(), 'nbf-bench-fork-'));
const launch: LaunchOptions = { python: testPython(), cwd: dir };
const source = await launchKernel(launch);
const samples: Record<string, number[]> = {};
const note = (key: string, ms: number) => (samples[key] ??= []).push(ms);
let storeIndex = 0;
const freshStore = () => new LocalStore(join(dir, `store-${storeIndex++}`));

try {
  const recorder = await Recorder.attach(source.client);
  // Unseeded data: only loading brings it back, as with a long session's results.
  const cell =
    'import numpy as np, pandas as pd\nrng = np.random.default_rng()\n' +
    `arrays = [rng.random(${Math.round((mib * 1024 * 1024) / 8 / 4)}) for _ in range(4)]\n` +
    'frame = pd.DataFrame({"a": rng.random(100_000), "b": rng.integers(0, 9, 100_000).astype(str)})\n' +
    'small = {i: (i, str(i)) for i in range(10_000)}';
  const ran = await source.client.execute(cell);
  if (ran.status !== 'ok') throw new Error(`the state cell failed: ${ran.status}`);

  for (let r = 0; r < repeat; r++) {
    for (const mode of r % 2 === 0 ? (['cold', 'pooled'] as const) : (['pooled', 'cold'] as const)) {
      const pool = mode === 'pooled' ? new WarmPool({ size: count, launch, modules: MODULES }) : undefined;
      try {
        await pool?.whenFilled(); // the pool is warm before the user asks: not timed
        note(`${mode} migration`, await timedFork(recorder, 1, pool));
        await pool?.whenFilled();
        note(`${mode} fork ×${count}`, await timedFork(recorder, count, pool));
        await pool?.whenFilled();
        note(`${mode} restore`, await timedRestore(recorder, pool));
      } finally {
        await pool?.close();
      }
    }
  }
} finally {
  await source.dispose();
  await rm(dir, { recursive: true, force: true });
}

async function timedFork(recorder: Recorder, n: number, pool: WarmPool | undefined): Promise<number> {
  const result: ForkResult = await fork(recorder, freshStore(), n, { pool, launch });
  try {
    const failed = result.children.filter((c) => !c.report.verification.ok).length;
    if (failed > 0) throw new Error(`${failed} of ${n} children not restored whole`);
    return result.timings.totalMs;
  } finally {
    await Promise.all(result.children.map((c) => c.kernel.dispose()));
  }
}

/** A restore of an already written checkpoint: the wait from asking to a verified, usable kernel. */
async function timedRestore(recorder: Recorder, pool: WarmPool | undefined): Promise<number> {
  const store = freshStore();
  const { checkpoint: saved } = await checkpoint(recorder, store);
  const t0 = performance.now();
  if (pool) {
    const warm = await pool.take();
    try {
      const report = await restore(saved, warm.kernel.client, { prepared: warm.prepared });
      if (!report.verification.ok) throw new Error('pooled restore not whole');
      return performance.now() - t0;
    } finally {
      await warm.kernel.dispose();
    }
  }
  const { kernel, report } = await restoreToNewKernel(saved, launch);
  try {
    if (!report.verification.ok) throw new Error('cold restore not whole');
    return performance.now() - t0;
  } finally {
    await kernel.dispose();
  }
}

const med = (key: string) => median(samples[key] ?? [NaN]);
const rows = Object.keys(samples).map((key) => ({ key, medianMs: med(key), samplesMs: samples[key]! }));
const ratios = {
  coldForkVsMigration: med(`cold fork ×${count}`) / med('cold migration'),
  pooledForkVsMigration: med(`pooled fork ×${count}`) / med('pooled migration'),
  pooledVsColdRestore: med('pooled restore') / med('cold restore'),
};
const header = `bench:fork, ${mib} MiB of arrays + a 100k-row frame + 10^4 small objects, ${count} children, ${repeat} repeats; ${cpus().length} cores, load ${loadavg()[0]!.toFixed(2)} at the end`;
const lines = [
  header,
  '',
  ...rows.map((r) => `${r.key.padEnd(22)} median ${fmtMs(r.medianMs).padStart(9)}   [${r.samplesMs.map((s) => fmtMs(s)).join(', ')}]`),
  '',
  `fork ×${count} / one migration: cold ${ratios.coldForkVsMigration.toFixed(2)}×, pooled ${ratios.pooledForkVsMigration.toFixed(2)}× (target ≤ 1.5×)`,
  `restore into a pooled kernel / into a cold one: ${ratios.pooledVsColdRestore.toFixed(2)}×`,
];
process.stdout.write(`${lines.join('\n')}\n`);
const results = join(repoRoot, 'benchmarks/results');
await mkdir(results, { recursive: true });
await writeFile(join(results, 'fork.json'), `${JSON.stringify({ mib, count, repeat, date: new Date().toISOString(), rows, ratios }, null, 2)}\n`);
await writeFile(join(results, 'fork.md'), `# ${lines[0]}\n\n\`\`\`\n${lines.slice(2).join('\n')}\n\`\`\`\n\nCommand: \`npm run bench:fork -- --mib ${mib} --count ${count} --repeat ${repeat}\`\n`);
