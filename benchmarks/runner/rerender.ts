/** Re-renders latest.md, the plots and the targets from an earlier latest.json (its raw trials). */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { discoverCorpus } from './corpus.js';
import { renderPlots } from './plots.js';
import { reportJson, type BenchReport } from './report-json.js';
import { reportMarkdown } from './report-markdown.js';
import { summarize } from './summary.js';
import { evaluateTargets } from './targets.js';

export async function rerender(file: string, out: string): Promise<void> {
  const old = JSON.parse(await readFile(file, 'utf8')) as BenchReport;
  const ran = new Set(old.trials.map((t) => t.notebook));
  const notebooks = (await discoverCorpus(old.settings.corpus, old.settings.only)).filter((n) => ran.has(n.path));
  const summaries = summarize(notebooks, old.trials);
  const report: BenchReport = { ...old, notebooks: summaries, targets: evaluateTargets(summaries) };
  await writeFile(join(out, 'latest.json'), reportJson(report));
  await writeFile(join(out, 'latest.md'), reportMarkdown(report));
  for (const [name, svg] of Object.entries(renderPlots(report))) await writeFile(join(out, name), svg);
}
