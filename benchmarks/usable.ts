/**
 * npm run bench:usable — time to a usable prompt after a restore is requested (issue 17's target:
 * ≤ 1 s on every corpus notebook at `medium`, with a warm pool), side by side in one run, per
 * notebook: the notebook runs in a recorded kernel and is checkpointed; then the same checkpoint is
 * restored three ways, each from the moment the restore is asked for:
 *   cold       a fresh kernel started, then restore (start + imports + loads + reruns + verify);
 *   pooled     a kernel taken from a warm pool (started, shim attached, the source's modules
 *              imported beforehand), then restore;
 *   background pooled, with `background: true`: usable when `onUsable` fires; the last byte and
 *              the verification of everything come later (printed too).
 * Results: benchmarks/results/usable-<size>.{json,md}.
 *
 *   npm run bench:usable -- [--size small|medium] [--only a,b] [--timeout SEC]
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { launchKernel, type LaunchOptions } from '@nbferry/kernel';
import { checkpoint, restore, restoreToNewKernel, userModules, WarmPool, type RestoreReport } from '@nbferry/migrate';
import { parseNotebook } from '@nbferry/protocol';
import { Recorder } from '@nbferry/recorder';
import { LocalStore, type StoredCheckpoint } from '@nbferry/store';
import type { CheckpointBody } from '@nbferry/migrate';
import { repoRoot, testPython } from '../test/support/python.js';
import { cleanWrittenFiles, discoverCorpus, generateData, type CorpusNotebook } from './runner/corpus.js';
import { describeError } from './runner/methods/context.js';
import { runCells } from './runner/kernels.js';
import { median } from './stats.js';

const { values } = parseArgs({
  options: {
    size: { type: 'string', default: 'small' },
    only: { type: 'string', default: '' },
    timeout: { type: 'string', default: '900' },
  },
});

interface Row {
  notebook: string;
  stateBytes: number;
  coldMs?: number;
  pooledMs?: number;
  usableMs?: number;
  lastByteMs?: number;
  backgroundTotalMs?: number;
  backgroundGroups?: number;
  whole?: boolean;
  /** Why a restore was not whole: `<mode>: <name> <outcome> (<detail>)`. */
  notWhole?: string[];
  failure?: string;
}

const python = testPython();
const root = join(repoRoot, 'benchmarks', 'notebooks');
const notebooks = await discoverCorpus(root, values.only.split(',').filter((o) => o !== ''));
console.log(`bench:usable: ${notebooks.length} notebooks, size ${values.size}; generating data…`);
await generateData(root, notebooks, values.size as 'small', python);
const env = { NBFERRY_DATA_SIZE: values.size };
const scratch = await mkdtemp(join(tmpdir(), 'nbf-bench-usable-'));
const rows: Row[] = [];
try {
  for (const [index, notebook] of notebooks.entries()) {
    console.log(`[${index + 1}/${notebooks.length}] ${notebook.path}`);
    const row: Row = { notebook: notebook.path, stateBytes: 0 };
    try {
      await measure(notebook, join(scratch, String(index)), row, AbortSignal.timeout(Number(values.timeout) * 1000));
    } catch (error) {
      row.failure = describeError(error);
    }
    rows.push(row);
    console.log(`  ${line(row)}`);
    await writeReports(); // after each notebook: a run cut short still leaves its results
  }
} finally {
  await rm(scratch, { recursive: true, force: true });
}
console.log(`\n${await writeReports()}`);

async function measure(notebook: CorpusNotebook, dir: string, row: Row, signal: AbortSignal): Promise<void> {
  await cleanWrittenFiles(notebook);
  const launch: LaunchOptions = { python, cwd: notebook.dir, env };
  const source = await launchKernel({ ...launch, signal });
  let saved: StoredCheckpoint<CheckpointBody>;
  let modules: string[];
  try {
    const recorder = await Recorder.attach(source.client, { signal });
    const parsed = parseNotebook(await readFile(notebook.absolutePath, 'utf8'), notebook.path);
    await runCells(source.client, parsed, signal);
    modules = await userModules(source.client, { signal });
    saved = (await checkpoint(recorder, new LocalStore(join(dir, 'store')), { signal })).checkpoint;
    row.stateBytes = saved.manifest.blobs.reduce((sum, b) => sum + b.bytes, 0);
  } finally {
    await source.dispose();
  }
  const whole: boolean[] = [];
  const cold0 = performance.now();
  const cold = await restoreToNewKernel(saved, { ...launch, signal }, { signal });
  row.coldMs = performance.now() - cold0;
  whole.push(cold.report.verification.ok);
  row.notWhole = [...unwhole('cold', cold.report)];
  await cold.kernel.dispose();

  const pool = new WarmPool({ size: 1, launch, modules });
  try {
    await pool.whenFilled();
    row.pooledMs = (await pooledRestore(pool, saved, false, signal, whole)).totalMs;
    await pool.whenFilled();
    const background = await pooledRestore(pool, saved, true, signal, whole);
    row.usableMs = background.usableMs;
    row.lastByteMs = background.report.timings.lastByteMs;
    row.backgroundTotalMs = background.totalMs;
    row.backgroundGroups = background.report.backgroundGroups ?? 0;
    row.notWhole.push(...unwhole('background', background.report));
  } finally {
    await pool.close();
  }
  row.whole = whole.every(Boolean);
}

/** From asking for a kernel from the pool to the restore's end (and to onUsable). */
async function pooledRestore(pool: WarmPool, saved: StoredCheckpoint<CheckpointBody>, background: boolean, signal: AbortSignal, whole: boolean[]) {
  const t0 = performance.now();
  const warm = await pool.take({ signal });
  try {
    let usableMs: number | undefined;
    const report: RestoreReport = await restore(saved, warm.kernel.client, {
      prepared: warm.prepared,
      signal,
      background,
      onUsable: () => (usableMs = performance.now() - t0),
    });
    whole.push(report.verification.ok);
    return { totalMs: performance.now() - t0, usableMs, report };
  } finally {
    await warm.kernel.dispose();
  }
}

function unwhole(mode: string, report: RestoreReport): string[] {
  return report.verification.variables
    .filter((v) => v.outcome === 'lost' || v.outcome === 'recomputed-different')
    .map((v) => `${mode}: ${v.name} ${v.outcome} (${v.detail ?? ''})`);
}

function ms(value: number | undefined): string {
  return value === undefined ? '—' : value >= 1000 ? `${(value / 1000).toFixed(2)} s` : `${value.toFixed(0)} ms`;
}

function line(r: Row): string {
  if (r.failure) return `failed: ${r.failure}`;
  return `state ${(r.stateBytes / 2 ** 20).toFixed(1)} MiB  cold ${ms(r.coldMs)}  pooled ${ms(r.pooledMs)}  background: usable ${ms(r.usableMs)}, last byte ${ms(r.lastByteMs)}, verified ${ms(r.backgroundTotalMs)} (${r.backgroundGroups} groups in the background)${r.whole ? '' : `  NOT WHOLE: ${(r.notWhole ?? []).join('; ')}`}`;
}

async function writeReports(): Promise<string> {
  const done = rows.filter((r) => r.usableMs !== undefined);
  const usable = done.map((r) => r.usableMs!);
  const summary = [
    `usable prompt (pooled, background): median ${ms(median(usable))}, worst ${ms(Math.max(...usable))}; ${usable.filter((u) => u <= 1000).length}/${done.length} notebooks ≤ 1 s (target: all)`,
    `cold restore: median ${ms(median(done.map((r) => r.coldMs!)))}; pooled restore (not background): median ${ms(median(done.map((r) => r.pooledMs!)))}`,
    `restores not whole: ${rows.filter((r) => r.whole === false).length}; failed: ${rows.filter((r) => r.failure).length}`,
  ];
  const table = [
    '| notebook | state MiB | cold | pooled | background: usable | last byte | verified | groups in background |',
    '| --- | --- | --- | --- | --- | --- | --- | --- |',
    ...rows.map((r) =>
      r.failure
        ? `| ${r.notebook} | — | failed: ${r.failure.replace(/\|/g, '/')} | | | | | |`
        : `| ${r.notebook} | ${(r.stateBytes / 2 ** 20).toFixed(1)} | ${ms(r.coldMs)} | ${ms(r.pooledMs)} | ${ms(r.usableMs)} | ${ms(r.lastByteMs)} | ${ms(r.backgroundTotalMs)} | ${r.backgroundGroups}${r.whole ? '' : ' (NOT WHOLE)'} |`,
    ),
  ];
  const markdown = [
    `# bench:usable, size ${values.size}`,
    '',
    `${new Date().toISOString()}, ${cpus().length} cores. Each restore timed from the moment it is asked for; "pooled": the kernel taken from a warm pool filled beforehand (started, shim attached, the source's modules imported); "background": pooled with background loads, usable when onUsable fires.`,
    '',
    ...table,
    '',
    ...summary.map((s) => `- ${s}`),
    '',
    `Command: \`npm run bench:usable -- --size ${values.size}${values.only ? ` --only ${values.only}` : ''}\``,
    '',
  ].join('\n');
  const results = join(repoRoot, 'benchmarks/results');
  await mkdir(results, { recursive: true });
  await writeFile(join(results, `usable-${values.size}.json`), `${JSON.stringify({ size: values.size, date: new Date().toISOString(), rows }, null, 2)}\n`);
  await writeFile(join(results, `usable-${values.size}.md`), markdown);
  return markdown;
}
