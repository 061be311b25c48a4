/**
 * npm run bench -- [--corpus DIR] [--size small|medium|large] [--python PATH] [--methods ...]
 *                  [--repeat N] [--elasticnotebook PATH] [--only a,b] [--out DIR] [--timeout SEC]
 *
 * Migrates every notebook of a corpus with nbferry and with the baselines (rerun-all,
 * dill.dump_session, per-variable pickling, Kishu, ElasticNotebook), each in fresh kernels, and
 * writes latest.json, latest.md and SVG plots. Method: benchmarks/README.md.
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseNotebook } from '@nbferry/protocol';
import { parseArgs, UsageError } from './runner/args.js';
import { discoverCorpus, generateData } from './runner/corpus.js';
import { describeEnvironment } from './runner/environment.js';
import { ensureKishuEnv, type KishuEnv } from './runner/kishu-env.js';
import { renderPlots } from './runner/plots.js';
import { Progress } from './runner/progress.js';
import { reportJson, type BenchReport } from './runner/report-json.js';
import { reportMarkdown } from './runner/report-markdown.js';
import { summarize } from './runner/summary.js';
import { evaluateTargets } from './runner/targets.js';
import { runTrial } from './runner/trial.js';
import { rerender } from './runner/rerender.js';
import { oneLine } from './runner/one-line.js';
import type { NotebookTrial } from './runner/types.js';
import { repoRoot } from '../test/support/python.js';

let args: ReturnType<typeof parseArgs>;
try {
  args = parseArgs(process.argv.slice(2), repoRoot, process.env.NBFERRY_PYTHON ?? `${repoRoot}.venv/bin/python`);
} catch (error) {
  if (error instanceof UsageError) {
    process.stderr.write(`${error.message}\n`);
    process.exit(2);
  }
  throw error;
}
if (args.fromJson) {
  await rerender(args.fromJson, args.out);
  process.exit(0);
}
const t0 = performance.now();
const notebooks = await discoverCorpus(args.corpus, args.only);
if (notebooks.length === 0) {
  process.stderr.write(`no notebooks under ${args.corpus}${args.only.length ? ` matching ${args.only.join(', ')}` : ''}\n`);
  process.exit(2);
}
const progress = new Progress(notebooks.length);
progress.log(`nbferry bench: ${notebooks.length} notebooks from ${args.corpus}, size ${args.size}, ${args.repeat} repeat(s), methods ${args.methods.join(', ')}`);
progress.log(`generating data (${args.size})…`);
await generateData(args.corpus, notebooks, args.size, args.python);
const environment = await describeEnvironment(args.python, repoRoot);
let kishu: KishuEnv | undefined;
if (args.methods.includes('kishu')) {
  kishu = await ensureKishuEnv(repoRoot, args.python, (line) => progress.log(line));
  progress.log('unavailable' in kishu ? `kishu: ${kishu.unavailable}` : `kishu ${kishu.version} in ${kishu.python}`);
}

/** Writes the reports for the notebooks done so far (after each one, so an interrupted run keeps them). */
async function writeReport(done: typeof notebooks): Promise<{ markdown: string; report: BenchReport }> {
  const summaries = summarize(done, trials);
  const report: BenchReport = {
    settings: {
      corpus: args.corpus,
      size: args.size,
      python: args.python,
      methods: args.methods,
      repeat: args.repeat,
      elasticNotebook: args.elasticNotebook,
      only: args.only,
      timeoutSec: args.timeoutSec,
      kishuTimeoutSec: args.kishuTimeoutSec,
      kishu: !kishu ? 'not selected' : 'unavailable' in kishu ? `unavailable: ${kishu.unavailable}` : `kishu ${kishu.version} (PyPI)`,
    },
    environment,
    durationSec: (performance.now() - t0) / 1000,
    targets: evaluateTargets(summaries),
    notebooks: summaries,
    trials,
  };
  await mkdir(args.out, { recursive: true });
  await writeFile(join(args.out, 'latest.json'), reportJson(report));
  const markdown = reportMarkdown(report);
  await writeFile(join(args.out, 'latest.md'), markdown);
  for (const [name, svg] of Object.entries(renderPlots(report))) await writeFile(join(args.out, name), svg);
  return { markdown, report };
}

const scratchRoot = await mkdtemp(join(tmpdir(), 'nbferry-bench-'));
const trials: NotebookTrial[] = [];
try {
  for (const [index, notebook] of notebooks.entries()) {
    const parsed = parseNotebook(await readFile(notebook.absolutePath, 'utf8'), notebook.path);
    for (let repeat = 0; repeat < args.repeat; repeat++) {
      progress.notebook(index, notebook.path, repeat, args.repeat);
      const scratch = join(scratchRoot, `${index}-${repeat}`);
      await mkdir(scratch, { recursive: true });
      const result = await runTrial(
        {
          notebook,
          parsed,
          python: args.python,
          env: { NBFERRY_DATA_SIZE: args.size },
          scratch,
          timeoutMs: args.timeoutSec * 1000,
          kishuTimeoutMs: args.kishuTimeoutSec * 1000,
          progress: (step) => progress.step(step),
        },
        { methods: args.methods, kishu, elasticNotebook: args.elasticNotebook },
        repeat,
      );
      trials.push(result);
      await rm(scratch, { recursive: true, force: true });
      progress.log(oneLine(result));
    }
    await writeReport(notebooks.slice(0, index + 1));
  }
} finally {
  await rm(scratchRoot, { recursive: true, force: true });
}

const { markdown, report } = await writeReport(notebooks);
process.stdout.write(`${markdown}\nwrote ${join(args.out, 'latest.{json,md}')} and plots (${Math.round(report.durationSec)} s)\n`);
