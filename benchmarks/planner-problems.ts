/**
 * Records the planning problem of every corpus notebook (run at `small` in a recorded kernel, then
 * measured as a checkpoint would measure it) into benchmarks/results/planner-problems/, so
 * `npm run bench:planner` can time the planner on real notebook graphs without running kernels.
 *
 *   npx tsx --conditions=source benchmarks/planner-problems.ts
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { prepareCheckpoint } from '@nbferry/migrate';
import { runRecorded } from '../packages/cli/src/recorded-run.js';
import { repoRoot, testPython } from '../test/support/python.js';

const corpus = join(repoRoot, 'benchmarks/notebooks');
const out = join(repoRoot, 'benchmarks/results/planner-problems');
const manifest = JSON.parse(readFileSync(join(corpus, 'manifest.json'), 'utf8')) as { notebooks: { path: string; dataset: string }[] };
const python = testPython();

execFileSync(python, ['-m', 'datagen', 'all', '--size', 'small'], { env: { ...process.env, PYTHONPATH: corpus }, stdio: 'ignore' });
await mkdir(out, { recursive: true });
for (const notebook of manifest.notebooks) {
  const run = await runRecorded(join(corpus, notebook.path), python, 'none');
  try {
    const prepared = await prepareCheckpoint(run.recorder);
    const name = basename(notebook.path, '.ipynb');
    await writeFile(join(out, `${name}.json`), `${JSON.stringify(prepared.planned.problem)}\n`);
    console.log(`${name}: ${prepared.planned.problem.cells.length} executions, ${prepared.planned.problem.groups.length} groups`);
  } finally {
    await run.kernel.dispose();
  }
}
