/**
 * `npm run bench:history -- --corpus [--size small|medium] [--only a,b] [--kishu]`: continuous
 * protection on the benchmark corpus (issue 12's targets), per notebook:
 *
 * 1. stored bytes: a checkpoint after every cell (sequential, incremental as by default) into a
 *    fresh store; the store's chunk bytes on disk against ONE full checkpoint of the final state
 *    (`incremental: false`, fresh store). Target: ≤ 1.5×.
 * 2. delay auto-checkpoint adds to the next cell: the notebook runs in fresh recorded kernels,
 *    plain and with an AutoCheckpointer (default idle, and optionally idle 0) for each `--lanes`
 *    (subshell: the shim's work runs on a kernel subshell beside the cells; main: on the main shell
 *    between cells, the behaviour before subshells), in rotating order, cells sent back to back as
 *    a frontend does; per-cell wall time difference. Targets: median ≤ 2%, worst ≤ 10%.
 *    `--skip-bytes` measures only this, into history-<size>-delay.{md,json}.
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
  /** Measure the delay only (results in history-<size>-delay.*). */
  skipBytes?: boolean;
  /** Where the auto-checkpoints run, one delay measurement each (default: subshell). */
  lanes?: Lane[];
}

type Lane = 'subshell' | 'main';

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
  lane: Lane;
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
  /**
   * How long cells waited for the kernel to start them (request sent → its execute_input), summed
   * over the notebook, with minus without: the part of the delay the auto-checkpoint holding the
   * main shell causes, much less sensitive to run-to-run noise than whole cell times.
   */
  startWaitMs: number;
  /** The longest wait of one cell for its start, with the auto-checkpoint (median over runs). */
  maxStartWaitMs: number;
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
        if (!options.skipBytes) result.stored = await storedBytes(notebook, parsed, env, options.python, scratch, signal());
      } catch (error) {
        result.failures.push(`stored bytes: ${describeError(error)}`);
      }
      for (const idleMs of idleSettings(options)) {
        try {
          result.delays.push(...(await delay(notebook, parsed, env, options.python, join(scratch, `auto-${idleMs}`), idleMs, lanesOf(options), options.repeat, signal())));
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
      console.log(`  ${rowOf(result, options).join('  ')}`);
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

function idleSettings(options: HistoryCorpusOptions): (number | 'default')[] {
  return options.skipDelay ? [] : options.idleZero ? ['default', 0] : ['default'];
}

function lanesOf(options: HistoryCorpusOptions): Lane[] {
  return options.lanes?.length ? options.lanes : ['subshell'];
}

/** Per-cell wall times of the notebook run back to back in a recorded kernel, optionally with auto-checkpoint on (on `lane`). */
async function cellTimes(notebook: CorpusNotebook, parsed: Notebook, env: Record<string, string>, python: string, store: string | undefined, idleMs: number | 'default', lane: Lane, signal: AbortSignal) {
  return withRecordedKernel(notebook, env, python, signal, async (kernel, recorder) => {
    const auto = store ? new AutoCheckpointer(recorder, new LocalStore(store), idleMs === 'default' ? { lane } : { idleMs, lane }) : undefined;
    try {
      const times: number[] = [];
      const startWaits: number[] = [];
      let sent = 0;
      let waited: number | undefined;
      // Cells go one at a time and our own queries are silent (no execute_input): the next one is this cell's.
      const off = kernel.client.events.on('iopub', (msg) => {
        if (msg.header.msg_type === 'execute_input' && waited === undefined) waited = performance.now() - sent;
      });
      try {
        for (const cell of parsed.cells) {
          sent = performance.now();
          waited = undefined;
          await kernel.client.execute(cell.source, { cellId: cell.id, signal, stopOnError: false });
          times.push(performance.now() - sent);
          startWaits.push(waited ?? Number.NaN);
        }
      } finally {
        off();
      }
      // Let the last cell's checkpoint happen (it delays no cell, but it counts as committed).
      await auto?.flush();
      if (auto && auto.lane !== lane) throw new Error(`auto-checkpoints ran on the ${auto.lane ?? 'unknown'} lane, not ${lane}`);
      return { times, startWaits, stats: auto ? { ...auto.stats } : undefined };
    } finally {
      await auto?.stop();
    }
  });
}

/** One delay per lane, all against the same plain runs. */
async function delay(notebook: CorpusNotebook, parsed: Notebook, env: Record<string, string>, python: string, store: string, idleMs: number | 'default', lanes: Lane[], repeat: number, signal: AbortSignal): Promise<Delay[]> {
  type Run = Awaited<ReturnType<typeof cellTimes>>;
  const variants: (Lane | 'plain')[] = ['plain', ...lanes];
  const runs = new Map<Lane | 'plain', Run[]>(variants.map((v) => [v, []]));
  // Rotate which goes first so a warm cache or a late import favours no side.
  for (let i = 0; i < repeat; i++) {
    for (let k = 0; k < variants.length; k++) {
      const variant = variants[(i + k) % variants.length]!;
      const dir = variant === 'plain' ? undefined : join(store, `${variant}-${i}`);
      runs.get(variant)!.push(await cellTimes(notebook, parsed, env, python, dir, idleMs, variant === 'plain' ? 'subshell' : variant, signal));
    }
  }
  const perCell = (of: Run[]) => parsed.cells.map((_, c) => median(of.map((r) => r.times[c]!)));
  const plain = perCell(runs.get('plain')!);
  const plainMs = plain.reduce((a, b) => a + b, 0);
  return lanes.map((lane) => {
    const autoRuns = runs.get(lane)!;
    const auto = perCell(autoRuns);
    const diffs = plain.map((p, i) => auto[i]! - p);
    const pcts = plain.map((p, i) => (100 * diffs[i]!) / p);
    const autoMs = auto.reduce((a, b) => a + b, 0);
    const stat = (key: 'committed' | 'abandoned' | 'failed') => median(autoRuns.map((r) => r.stats![key]));
    const waitOf = (of: Run[]) => median(of.map((r) => r.startWaits.filter((w) => !Number.isNaN(w)).reduce((a, b) => a + b, 0)));
    return {
      idleMs,
      lane,
      repeat,
      plainMs,
      autoMs,
      delayPct: (100 * (autoMs - plainMs)) / plainMs,
      medianCellDiffMs: median(diffs),
      maxCellDiffMs: Math.max(...diffs),
      medianCellPct: median(pcts),
      startWaitMs: waitOf(autoRuns) - waitOf(runs.get('plain')!),
      maxStartWaitMs: median(autoRuns.map((r) => Math.max(...r.startWaits.filter((w) => !Number.isNaN(w))))),
      committed: stat('committed'),
      abandoned: stat('abandoned'),
      failed: stat('failed'),
    };
  });
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

/** The delay columns: one per idle setting and lane. */
function delayColumns(options: HistoryCorpusOptions): { idleMs: number | 'default'; lane: Lane; title: string }[] {
  const idles: (number | 'default')[] = options.idleZero ? ['default', 0] : ['default'];
  return idles.flatMap((idleMs) => lanesOf(options).map((lane) => ({ idleMs, lane, title: `delay % (idle ${idleMs}, ${lane})` })));
}

function header(options: HistoryCorpusOptions): string[] {
  return ['notebook', 'cells', 'ckpts', 'store MiB', 'full MiB', 'ratio', 'ckpt ms med/max', ...delayColumns(options).map((c) => c.title), 'Kishu MiB'];
}

function pct(d: Delay | undefined): string {
  if (!d) return '—';
  const wait = `; start wait +${d.startWaitMs.toFixed(0)} ms, longest ${d.maxStartWaitMs.toFixed(0)} ms`;
  return `${d.delayPct.toFixed(1)} of ${(d.plainMs / 1000).toFixed(1)} s (cell med ${d.medianCellPct.toFixed(1)}, worst +${d.maxCellDiffMs.toFixed(0)} ms${wait}; ${d.committed} saved, ${d.abandoned} preempted${d.failed ? `, ${d.failed} FAILED` : ''})`;
}

function rowOf(r: NotebookResult, options: HistoryCorpusOptions): string[] {
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
    ...delayColumns(options).map((c) => pct(r.delays.find((d) => d.idleMs === c.idleMs && d.lane === c.lane))),
    r.kishuBytes === undefined ? 'not run' : r.kishuBytes === null ? 'failed' : mib(r.kishuBytes),
  ];
}

function breakdownRow(notebook: string, b: StoreBreakdown): string[] {
  const mib = (n: number) => (n / MiB).toFixed(1);
  const groups = (list: { variables: string[]; bytes: number }[]) => (list.length ? list.map((g) => `${g.variables.join(',')} (${mib(g.bytes)})`).join('; ') : '—');
  return [notebook, mib(b.storeBytes), mib(b.lastCheckpointBytes), mib(b.fullBytes), mib(b.inBandBytes), mib(b.rewrittenKnownBytes), mib(b.intermediateBytes), `${(b.lastCheckpointBytes / b.fullBytes).toFixed(2)}×`, groups(b.onlyInLast), groups(b.onlyInFull)];
}

function summary(results: NotebookResult[], options: HistoryCorpusOptions) {
  const ratios = results.flatMap((r) => (r.stored ? [r.stored.ratio] : []));
  const delays = delayColumns(options).map((c) => {
    const v = results.flatMap((r) => r.delays.filter((d) => d.idleMs === c.idleMs && d.lane === c.lane).map((d) => d.delayPct));
    return { idleMs: c.idleMs, lane: c.lane, ...(v.length ? { notebooks: v.length, medianPct: median(v), worstPct: Math.max(...v) } : { notebooks: 0 }) };
  });
  return {
    storedRatio: ratios.length ? { notebooks: ratios.length, median: median(ratios), worst: Math.max(...ratios), target: 1.5 } : null,
    delays,
    targets: { medianDelayPct: 2, worstNotebookDelayPct: 10 },
  };
}

async function writeReports(options: HistoryCorpusOptions, kishu: KishuEnv | undefined, results: NotebookResult[], durationSec: number): Promise<string> {
  const out = join(options.repoRoot, 'benchmarks', 'results');
  await mkdir(out, { recursive: true });
  const sum = summary(results, options);
  const kishuNote = !kishu ? 'not selected' : 'unavailable' in kishu ? `unavailable: ${kishu.unavailable}` : `kishu ${kishu.version} (PyPI)`;
  const json = { settings: { size: options.size, only: options.only, kishu: kishuNote, python: options.python, idleZero: options.idleZero, skipDelay: options.skipDelay, skipBytes: options.skipBytes ?? false, lanes: lanesOf(options), repeat: options.repeat }, durationSec, summary: sum, notebooks: results };
  const name = `history-${options.size}${options.skipBytes ? '-delay' : ''}`; // a delay-only run keeps the bytes results
  await writeFile(join(out, `${name}.json`), `${JSON.stringify(json, null, 2)}\n`);
  const row = (cells: string[]) => `| ${cells.join(' | ')} |`;
  const lines = [
    `# bench:history --corpus, size ${options.size}`,
    '',
    `${results.length} notebooks, ${Math.round(durationSec)} s; Kishu: ${kishuNote}.`,
    '',
    '- **store MiB**: chunk files on disk after a checkpoint after every cell (incremental, sequential); **full MiB**: one full checkpoint of the final state in a fresh store; **ratio** = store / full (target ≤ 1.5×).',
    '- **ckpt ms**: median / max wall time of one per-cell checkpoint.',
    `- **delay %**: cells sent back to back in fresh recorded kernels, with an AutoCheckpointer (default idle 500 ms; idle 0: it starts the moment a cell ends; subshell: its shim work runs on a kernel subshell beside the cells; main: on the main shell between cells, as before subshells) vs without, ${options.repeat} runs each in rotating order, per-cell median: (sum of cell times with − without) / without, of the plain total; in brackets the median per-cell difference in %, the worst cell's extra ms, the start wait (request sent → the kernel starts the cell, its execute_input; summed, with − without) and the longest single start wait with auto-checkpoint, and the auto-checkpoints saved and preempted by the next cell (the final flush after the last cell included). Targets: median over notebooks ≤ 2%, worst ≤ 10%. Small notebooks' cells are short, so differences of several % are within run-to-run noise on this 2-core machine.`,
    '- **Kishu MiB**: its database after its commit-per-cell run of the same notebook.',
    '',
    row(header(options)),
    row(header(options).map(() => '---')),
    ...results.map((r) => row(rowOf(r, options))),
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
    ...sum.delays.map((d) =>
      'medianPct' in d && d.medianPct !== undefined
        ? `- delay, idle ${d.idleMs}, ${d.lane}: median ${d.medianPct.toFixed(1)}%, worst notebook ${d.worstPct!.toFixed(1)}% (targets ≤ 2%, ≤ 10%)`
        : `- delay, idle ${d.idleMs}, ${d.lane}: no result`,
    ),
    ...results.flatMap((r) => [...r.failures, ...(r.stored?.failedCheckpoints ?? [])].map((f) => `- ${r.notebook}: ${f}`)),
    '',
  ];
  const markdown = lines.join('\n');
  await writeFile(join(out, `${name}.md`), markdown);
  return markdown;
}
