/**
 * `npm run bench:history -- --corpus [--size small|medium] [--only a,b] [--kishu]`: continuous
 * protection on the benchmark corpus (issue 12's targets), per notebook:
 *
 * 1. stored bytes: a checkpoint after every cell (sequential, incremental as by default) into a
 *    fresh store; the store's chunk bytes on disk against ONE full checkpoint of the final state
 *    (`incremental: false`, fresh store). Target: ≤ 1.5×.
 * 2. delay auto-checkpoint adds to the next cell: the notebook runs twice in fresh recorded kernels,
 *    plain and with an AutoCheckpointer (default idle, and optionally idle 0), cells sent back to
 *    back as a frontend does; per-cell wall time difference. Targets: median ≤ 2%, worst ≤ 10%.
 * 3. with --kishu: Kishu's database bytes after its commit-per-cell run of the same notebook.
 *
 * Reuses the bench runner's corpus discovery, data generation and Kishu environment.
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { copyFile } from 'node:fs/promises';
import { launchKernel, type Kernel } from '@nbferry/kernel';
import { AutoCheckpointer, checkpoint } from '@nbferry/migrate';
import { parseNotebook, type Notebook } from '@nbferry/protocol';
import { Recorder } from '@nbferry/recorder';
import { LocalStore } from '@nbferry/store';
import { cleanWrittenFiles, discoverCorpus, generateData, type CorpusNotebook } from './runner/corpus.js';
import { ensureKishuEnv, type KishuEnv } from './runner/kishu-env.js';
import { databaseBytes } from './runner/methods/kishu.js';
import { describeError, diskBytes } from './runner/methods/context.js';
import { disposeAll, runCells } from './runner/kernels.js';
import { callHelper } from './runner/python-call.js';
import { storeBreakdown, type StoreBreakdown } from './runner/store-breakdown.js';
import { median } from './stats.js';
import type { Manifest } from '@nbferry/store';

export interface HistoryCorpusOptions {
  repoRoot: string;
  python: string;
  size: string;
  only: string[];
  kishu: boolean;
  /** Also measure the delay with idle 0 (a checkpoint starts the moment a cell ends). */
  idleZero: boolean;
  timeoutSec: number;
  /** Runs per side for the delay. */
  repeat: number;
  /** Measure stored bytes (and Kishu's) only. */
  skipDelay: boolean;
}

interface StoredBytes {
  cells: number;
  checkpoints: number;
  failedCheckpoints: string[];
  storeBytes: number;
  fullBytes: number;
  ratio: number;
  medianCheckpointMs: number;
  maxCheckpointMs: number;
  /** Per checkpoint: groups written, chunks new vs already stored, and why (store-breakdown.ts). */
  breakdown?: StoreBreakdown;
}

interface Delay {
  idleMs: number | 'default';
  /** Runs per side; per-cell times are medians over them. */
  repeat: number;
  plainMs: number;
  autoMs: number;
  /** (auto - plain) / plain over all cells, in %. */
  delayPct: number;
  medianCellDiffMs: number;
  maxCellDiffMs: number;
  /** Median over cells of each cell's difference as % of its plain time. */
  medianCellPct: number;
  /** Auto-checkpoints committed / abandoned (preempted) / failed, median over the runs (the final flush included). */
  committed: number;
  abandoned: number;
  failed: number;
}

interface NotebookResult {
  notebook: string;
  stored?: StoredBytes;
  delays: Delay[];
  kishuBytes?: number | null;
  failures: string[];
}

const MiB = 1024 * 1024;

export async function historyCorpus(options: HistoryCorpusOptions): Promise<void> {
  const t0 = performance.now();
  const root = join(options.repoRoot, 'benchmarks', 'notebooks');
  const notebooks = await discoverCorpus(root, options.only);
  if (notebooks.length === 0) throw new Error(`no notebooks under ${root} matching ${options.only.join(', ')}`);
  console.log(`bench:history --corpus: ${notebooks.length} notebooks, size ${options.size}; generating data…`);
  await generateData(root, notebooks, options.size as 'small', options.python);
  let kishu: KishuEnv | undefined;
  if (options.kishu) {
    kishu = await ensureKishuEnv(options.repoRoot, options.python, (line) => console.log(line));
    console.log('unavailable' in kishu ? `kishu: ${kishu.unavailable}` : `kishu ${kishu.version} in ${kishu.python}`);
  }
  const env = { NBFERRY_DATA_SIZE: options.size };
  const scratchRoot = await mkdtemp(join(tmpdir(), 'nbf-bench-history-corpus-'));
  const results: NotebookResult[] = [];
  try {
    for (const [index, notebook] of notebooks.entries()) {
      const parsed = parseNotebook(await readFile(notebook.absolutePath, 'utf8'), notebook.path);
      const scratch = join(scratchRoot, String(index));
      await mkdir(scratch, { recursive: true });
      const result: NotebookResult = { notebook: notebook.path, delays: [], failures: [] };
      const signal = () => AbortSignal.timeout(options.timeoutSec * 1000);
      console.log(`[${index + 1}/${notebooks.length}] ${notebook.path}`);
      try {
        result.stored = await storedBytes(notebook, parsed, env, options.python, scratch, signal());
      } catch (error) {
        result.failures.push(`stored bytes: ${describeError(error)}`);
      }
      for (const idleMs of options.skipDelay ? [] : options.idleZero ? (['default', 0] as const) : (['default'] as const)) {
        try {
          result.delays.push(await delay(notebook, parsed, env, options.python, join(scratch, `auto-${idleMs}`), idleMs, options.repeat, signal()));
        } catch (error) {
          result.failures.push(`delay (idle ${idleMs}): ${describeError(error)}`);
        }
      }
      if (kishu && 'python' in kishu) {
        try {
          result.kishuBytes = await kishuBytes(notebook, parsed, env, kishu.python, join(scratch, 'kishu'), signal());
        } catch (error) {
          result.kishuBytes = null;
          result.failures.push(`kishu: ${describeError(error)}`);
        }
      }
      await rm(scratch, { recursive: true, force: true });
      results.push(result);
      console.log(`  ${rowOf(result).join('  ')}`);
      for (const failure of result.failures) console.log(`  ! ${failure}`);
      await writeReports(options, kishu, results, (performance.now() - t0) / 1000);
    }
  } finally {
    await rm(scratchRoot, { recursive: true, force: true });
  }
  const markdown = await writeReports(options, kishu, results, (performance.now() - t0) / 1000);
  console.log(`\n${markdown}`);
}

async function withRecordedKernel<T>(notebook: CorpusNotebook, env: Record<string, string>, python: string, signal: AbortSignal, body: (kernel: Kernel, recorder: Recorder) => Promise<T>): Promise<T> {
  await cleanWrittenFiles(notebook);
  const kernel = await launchKernel({ python, cwd: notebook.dir, env, signal });
  try {
    return await body(kernel, await Recorder.attach(kernel.client, { signal }));
  } finally {
    await disposeAll(kernel);
  }
}

/** A checkpoint after every cell into a fresh store, then one full checkpoint of the final state into another. */
async function storedBytes(notebook: CorpusNotebook, parsed: Notebook, env: Record<string, string>, python: string, scratch: string, signal: AbortSignal): Promise<StoredBytes> {
  return withRecordedKernel(notebook, env, python, signal, async (kernel, recorder) => {
    const store = new LocalStore(join(scratch, 'every-cell'));
    const times: number[] = [];
    const failed: string[] = [];
    const manifests: { cell: number; manifest: Manifest }[] = [];
    for (const cell of parsed.cells) {
      await kernel.client.execute(cell.source, { cellId: cell.id, signal, stopOnError: false });
      const started = performance.now();
      try {
        const done = await checkpoint(recorder, store, { signal });
        times.push(performance.now() - started);
        manifests.push({ cell: cell.index + 1, manifest: done.checkpoint.manifest });
      } catch (error) {
        failed.push(`after cell ${cell.index + 1}: ${describeError(error)}`);
      }
    }
    const full = new LocalStore(join(scratch, 'full'));
    const fullCheckpoint = await checkpoint(recorder, full, { signal, incremental: false });
    const breakdown = await storeBreakdown(store.chunksDir, manifests, { chunksDir: full.chunksDir, manifest: fullCheckpoint.checkpoint.manifest });
    const storeBytes = await diskBytes(join(store.root, 'chunks'));
    const fullBytes = await diskBytes(join(full.root, 'chunks'));
    return {
      cells: parsed.cells.length,
      checkpoints: times.length,
      failedCheckpoints: failed,
      storeBytes,
      fullBytes,
      ratio: fullBytes > 0 ? storeBytes / fullBytes : Number.NaN,
      medianCheckpointMs: median(times),
      maxCheckpointMs: Math.max(...times),
      breakdown,
    };
  });
}

/** Per-cell wall times of the notebook run back to back in a recorded kernel, optionally with auto-checkpoint on. */
async function cellTimes(notebook: CorpusNotebook, parsed: Notebook, env: Record<string, string>, python: string, store: string | undefined, idleMs: number | 'default', signal: AbortSignal) {
  return withRecordedKernel(notebook, env, python, signal, async (kernel, recorder) => {
    const auto = store ? new AutoCheckpointer(recorder, new LocalStore(store), idleMs === 'default' ? {} : { idleMs }) : undefined;
    try {
      const times: number[] = [];
      for (const cell of parsed.cells) {
        const started = performance.now();
        await kernel.client.execute(cell.source, { cellId: cell.id, signal, stopOnError: false });
        times.push(performance.now() - started);
      }
      // Let the last cell's checkpoint happen (it delays no cell, but it counts as committed).
      await auto?.flush();
      return { times, stats: auto ? { ...auto.stats } : undefined };
    } finally {
      await auto?.stop();
    }
  });
}

async function delay(notebook: CorpusNotebook, parsed: Notebook, env: Record<string, string>, python: string, store: string, idleMs: number | 'default', repeat: number, signal: AbortSignal): Promise<Delay> {
  type Run = Awaited<ReturnType<typeof cellTimes>>;
  const autoRuns: Run[] = [];
  const plainRuns: Run[] = [];
  // Alternate which goes first so a warm cache or a late import favours neither side.
  for (let i = 0; i < repeat; i++) {
    for (const withAuto of i % 2 === 0 ? [true, false] : [false, true]) {
      const dir = withAuto ? join(store, String(i)) : undefined;
      (withAuto ? autoRuns : plainRuns).push(await cellTimes(notebook, parsed, env, python, dir, idleMs, signal));
    }
  }
  const perCell = (runs: Run[]) => parsed.cells.map((_, c) => median(runs.map((r) => r.times[c]!)));
  const plain = perCell(plainRuns);
  const auto = perCell(autoRuns);
  const diffs = plain.map((p, i) => auto[i]! - p);
  const pcts = plain.map((p, i) => (100 * diffs[i]!) / p);
  const plainMs = plain.reduce((a, b) => a + b, 0);
  const autoMs = auto.reduce((a, b) => a + b, 0);
  const stat = (key: 'committed' | 'abandoned' | 'failed') => median(autoRuns.map((r) => r.stats![key]));
  return {
    idleMs,
    repeat,
    plainMs,
    autoMs,
    delayPct: (100 * (autoMs - plainMs)) / plainMs,
    medianCellDiffMs: median(diffs),
    maxCellDiffMs: Math.max(...diffs),
    medianCellPct: median(pcts),
    committed: stat('committed'),
    abandoned: stat('abandoned'),
    failed: stat('failed'),
  };
}

/** Kishu commits after every cell by itself; its database (next to a copy of the notebook) is its store. */
async function kishuBytes(notebook: CorpusNotebook, parsed: Notebook, env: Record<string, string>, python: string, dir: string, signal: AbortSignal): Promise<number> {
  await mkdir(join(dir, 'home'), { recursive: true });
  const copy = join(dir, basename(notebook.path));
  await copyFile(notebook.absolutePath, copy);
  await cleanWrittenFiles(notebook);
  const kernel = await launchKernel({
    python,
    cwd: notebook.dir,
    env: { ...env, TEST_NOTEBOOK_PATH: copy, ENV_KISHU_TEST_MODE: '1', KISHU_PATH_ROOT: join(dir, 'home') },
    signal,
  });
  try {
    await callHelper<unknown>(kernel.client, 'bench_kishu', 'init', [copy], signal, { inCell: true });
    const run = await runCells(kernel.client, parsed, signal);
    if (run.failure) throw new Error(`Kishu's run: ${run.failure}`);
    return await databaseBytes(dir, copy);
  } finally {
    await disposeAll(kernel);
  }
}

const HEADER = ['notebook', 'cells', 'ckpts', 'store MiB', 'full MiB', 'ratio', 'ckpt ms med/max', 'delay % (idle default)', 'delay % (idle 0)', 'Kishu MiB'];

function pct(d: Delay | undefined): string {
  if (!d) return '—';
  return `${d.delayPct.toFixed(1)} of ${(d.plainMs / 1000).toFixed(1)} s (cell med ${d.medianCellPct.toFixed(1)}, worst +${d.maxCellDiffMs.toFixed(0)} ms; ${d.committed} saved, ${d.abandoned} preempted${d.failed ? `, ${d.failed} FAILED` : ''})`;
}

function rowOf(r: NotebookResult): string[] {
  const s = r.stored;
  const mib = (b: number) => (b / MiB).toFixed(2);
  return [
    r.notebook,
    s ? String(s.cells) : '—',
    s ? `${s.checkpoints}${s.failedCheckpoints.length ? ` (${s.failedCheckpoints.length} failed)` : ''}` : '—',
    s ? mib(s.storeBytes) : '—',
    s ? mib(s.fullBytes) : '—',
    s ? `${s.ratio.toFixed(2)}×` : '—',
    s ? `${s.medianCheckpointMs.toFixed(0)}/${s.maxCheckpointMs.toFixed(0)}` : '—',
    pct(r.delays.find((d) => d.idleMs === 'default')),
    pct(r.delays.find((d) => d.idleMs === 0)),
    r.kishuBytes === undefined ? 'not run' : r.kishuBytes === null ? 'failed' : mib(r.kishuBytes),
  ];
}

function breakdownRow(notebook: string, b: StoreBreakdown): string[] {
  const mib = (n: number) => (n / MiB).toFixed(1);
  const groups = (list: { variables: string[]; bytes: number }[]) => (list.length ? list.map((g) => `${g.variables.join(',')} (${mib(g.bytes)})`).join('; ') : '—');
  return [notebook, mib(b.storeBytes), mib(b.lastCheckpointBytes), mib(b.fullBytes), mib(b.inBandBytes), mib(b.rewrittenKnownBytes), mib(b.intermediateBytes), `${(b.lastCheckpointBytes / b.fullBytes).toFixed(2)}×`, groups(b.onlyInLast), groups(b.onlyInFull)];
}

function summary(results: NotebookResult[]) {
  const ratios = results.flatMap((r) => (r.stored ? [r.stored.ratio] : []));
  const byIdle = (idle: number | 'default') => results.flatMap((r) => r.delays.filter((d) => d.idleMs === idle).map((d) => d.delayPct));
  const delays = (idle: number | 'default') => {
    const v = byIdle(idle);
    return v.length ? { notebooks: v.length, medianPct: median(v), worstPct: Math.max(...v) } : null;
  };
  return {
    storedRatio: ratios.length ? { notebooks: ratios.length, median: median(ratios), worst: Math.max(...ratios), target: 1.5 } : null,
    delayDefaultIdle: delays('default'),
    delayIdleZero: delays(0),
    targets: { medianDelayPct: 2, worstNotebookDelayPct: 10 },
  };
}

async function writeReports(options: HistoryCorpusOptions, kishu: KishuEnv | undefined, results: NotebookResult[], durationSec: number): Promise<string> {
  const out = join(options.repoRoot, 'benchmarks', 'results');
  await mkdir(out, { recursive: true });
  const sum = summary(results);
  const kishuNote = !kishu ? 'not selected' : 'unavailable' in kishu ? `unavailable: ${kishu.unavailable}` : `kishu ${kishu.version} (PyPI)`;
  const json = { settings: { size: options.size, only: options.only, kishu: kishuNote, python: options.python, idleZero: options.idleZero, skipDelay: options.skipDelay, repeat: options.repeat }, durationSec, summary: sum, notebooks: results };
  await writeFile(join(out, `history-${options.size}.json`), `${JSON.stringify(json, null, 2)}\n`);
  const row = (cells: string[]) => `| ${cells.join(' | ')} |`;
  const lines = [
    `# bench:history --corpus, size ${options.size}`,
    '',
    `${results.length} notebooks, ${Math.round(durationSec)} s; Kishu: ${kishuNote}.`,
    '',
    '- **store MiB**: chunk files on disk after a checkpoint after every cell (incremental, sequential); **full MiB**: one full checkpoint of the final state in a fresh store; **ratio** = store / full (target ≤ 1.5×).',
    '- **ckpt ms**: median / max wall time of one per-cell checkpoint.',
    `- **delay %**: cells sent back to back in fresh recorded kernels, with an AutoCheckpointer (default idle 500 ms; idle 0: it starts the moment a cell ends) vs without, ${options.repeat} runs each in alternating order, per-cell median: (sum of cell times with − without) / without, of the plain total; in brackets the median per-cell difference in %, the worst cell's extra ms, and the auto-checkpoints saved and preempted by the next cell (the final flush after the last cell included). Targets: median over notebooks ≤ 2%, worst ≤ 10%. Small notebooks' cells are short, so differences of several % are within run-to-run noise on this 2-core machine.`,
    '- **Kishu MiB**: its database after its commit-per-cell run of the same notebook.',
    '',
    row(HEADER),
    row(HEADER.map(() => '---')),
    ...results.map((r) => row(rowOf(r))),
    '',
    '## Where the stored bytes come from',
    '',
    '**in-band**: new-chunk bytes outside out-of-band buffers (pickle streams: object columns, small objects, which may repeat earlier content at other offsets); **rewritten**: new chunks holding out-of-band buffers (array/frame blocks) an earlier checkpoint already stored, written again only because chunk boundaries moved; **intermediate**: new data no longer referenced by the last checkpoint (versions a later cell replaced: only gc drops them); **last ckpt**: what the last per-cell checkpoint references (≈ `gc --keep 1`); **only in last / only in full**: groups one final checkpoint stores and the other does not. MiB.',
    '',
    row(['notebook', 'store', 'last ckpt', 'full', 'in-band', 'rewritten', 'intermediate', 'last ckpt / full', 'only in last', 'only in full']),
    row(Array.from({ length: 10 }, () => '---')),
    ...results.flatMap((r) => (r.stored?.breakdown ? [row(breakdownRow(r.notebook, r.stored.breakdown))] : [])),
    '',
    '## Summary',
    '',
    sum.storedRatio ? `- stored bytes ratio over ${sum.storedRatio.notebooks} notebooks: median ${sum.storedRatio.median.toFixed(2)}×, worst ${sum.storedRatio.worst.toFixed(2)}× (target ≤ 1.5×)` : '- stored bytes: no result',
    sum.delayDefaultIdle ? `- delay, default idle: median ${sum.delayDefaultIdle.medianPct.toFixed(1)}%, worst notebook ${sum.delayDefaultIdle.worstPct.toFixed(1)}% (targets ≤ 2%, ≤ 10%)` : '- delay, default idle: no result',
    sum.delayIdleZero ? `- delay, idle 0: median ${sum.delayIdleZero.medianPct.toFixed(1)}%, worst notebook ${sum.delayIdleZero.worstPct.toFixed(1)}%` : '',
    ...results.flatMap((r) => [...r.failures, ...(r.stored?.failedCheckpoints ?? [])].map((f) => `- ${r.notebook}: ${f}`)),
    '',
  ];
  const markdown = lines.join('\n');
  await writeFile(join(out, `history-${options.size}.md`), markdown);
  return markdown;
}
