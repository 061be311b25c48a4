/** The human-readable result: targets, then per-notebook tables, then every failure and loss. */
import { median } from '../stats.js';
import { bytes, cell, percent, seconds } from './format.js';
import type { BenchReport } from './report-json.js';
import { methodOf } from './summary.js';
import { METHODS, type MethodSummary, type NotebookSummary, type Spread } from './types.js';

export function reportMarkdown(report: BenchReport): string {
  const { settings, environment: env } = report;
  const methods = METHODS.filter((m) => report.notebooks.some((nb) => methodOf(nb, m)));
  const lines: string[] = [
    `# nbferry benchmark: \`${settings.size}\` data, ${settings.repeat} repeat${settings.repeat === 1 ? '' : 's'}`,
    '',
    `${env.date.slice(0, 10)}, git \`${env.git}\`; ${env.machine.cores} × ${env.machine.cpu}, ${env.machine.memoryGiB} GiB ` +
      `(load average ${env.machine.loadAverageAtStart.toFixed(2)} at start); Python ${env.python}, ` +
      `${Object.entries(env.libraries)
        .map(([k, v]) => `${k} ${v}`)
        .join(', ')}; Kishu: ${settings.kishu}. ${report.notebooks.length} notebooks in ${Math.round(report.durationSec / 60)} min.`,
    '',
    'Values are medians over repeats, with [min–max] when there are several. Fidelity = variables whose content fingerprint ' +
      'in the new kernel equals the source\'s, over the variables that can be judged: those the source could fingerprint, plus any ' +
      'other that was lost; "+N" counts variables no method can verify (figures, generators, open files). See benchmarks/README.md for the method.',
    '',
    '## Targets',
    '',
    '| target | goal | measured | met |',
    '| --- | --- | --- | --- |',
    ...report.targets.map((t) => `| ${t.name} | ${t.goal} | ${cell(t.measured)} | ${t.met === null ? 'n/a' : t.met ? 'yes' : '**no**'} |`),
    '',
    '## Migration time and fidelity',
    '',
    `| notebook | ${methods.join(' | ')} |`,
    `| --- | ${methods.map(() => '---').join(' | ')} |`,
    ...report.notebooks.map((nb) => `| ${nb.notebook} | ${methods.map((m) => migrationCell(methodOf(nb, m))).join(' | ')} |`),
    '',
    '## nbferry per notebook',
    '',
    '| notebook | run (unrecorded) | checkpoint | restore | migration | bytes | fidelity | runtime overhead | shim hooks | memory overhead |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
    ...report.notebooks.map((nb) => nbferryRow(nb)),
    '',
    ...pooledLines(report, methods),
    ...breakdownLines(report),
    '## Checkpoint size',
    '',
    `| notebook | ${methods.filter((m) => m !== 'rerun-all').join(' | ')} |`,
    `| --- | ${methods.filter((m) => m !== 'rerun-all').map(() => '---').join(' | ')} |`,
    ...report.notebooks.map(
      (nb) =>
        `| ${nb.notebook} | ${methods
          .filter((m) => m !== 'rerun-all')
          .map((m) => {
            const s = methodOf(nb, m);
            return s?.bytes ? bytes(s.bytes.median) : statusText(s);
          })
          .join(' | ')} |`,
    ),
    '',
  ];
  if (methods.includes('kishu') && report.notebooks.some((nb) => methodOf(nb, 'kishu')?.runtimeOverheadPct)) {
    lines.push(
      '## Recording overhead: nbferry and Kishu',
      '',
      '| notebook | nbferry runtime | nbferry memory | Kishu runtime | Kishu memory |',
      '| --- | --- | --- | --- | --- |',
      ...report.notebooks.map((nb) => {
        const n = methodOf(nb, 'nbferry');
        const k = methodOf(nb, 'kishu');
        return `| ${nb.notebook} | ${pct(n?.runtimeOverheadPct)} | ${pct(n?.memoryOverheadPct)} | ${pct(k?.runtimeOverheadPct)} | ${pct(k?.memoryOverheadPct)} |`;
      }),
      '',
    );
  }
  const skipped = methods.flatMap((m) => {
    const reasons = new Set(
      report.notebooks.flatMap((nb) => {
        const s = methodOf(nb, m);
        return s && s.statuses.every((x) => x === 'not-run' || x === 'unavailable') ? s.failures : [];
      }),
    );
    return [...reasons].map((r) => `- ${m}: ${cell(r)}`);
  });
  if (skipped.length) lines.push('## Methods not run', '', ...skipped, '');
  lines.push('## Failures and losses', '');
  const problems = report.notebooks.flatMap((nb) => nb.methods.flatMap((m) => problemLines(nb, m)));
  lines.push(...(problems.length ? problems : ['None.']), '');
  return lines.join('\n');
}

function spreadText(s: Spread | null, format: (v: number) => string): string {
  if (!s) return '–';
  return s.n > 1 && s.max > s.min ? `${format(s.median)} [${format(s.min)}–${format(s.max)}]` : format(s.median);
}

function statusText(s: MethodSummary | undefined): string {
  if (!s) return '–';
  if (s.statuses.every((x) => x === 'unavailable')) return 'unavailable';
  if (s.statuses.every((x) => x === 'not-run')) return 'not run';
  if (s.statuses.every((x) => x !== 'ok')) return 'failed';
  return '–';
}

function fidelityText(s: MethodSummary): string {
  if (!s.fidelity) return '';
  const f = s.worstFidelity!;
  const extra = f.total > f.verifiable ? ` +${f.total - f.verifiable}` : '';
  return `${f.equal === f.verifiable ? '100%' : percent((f.equal / Math.max(f.verifiable, 1)) * 100, 0)} (${f.equal}/${f.verifiable}${extra})`;
}

function migrationCell(s: MethodSummary | undefined): string {
  if (!s) return '–';
  if (!s.migrationMs) {
    const f = s.fidelity ? `, ${fidelityText(s)}` : '';
    return `${statusText(s)}${f}`;
  }
  const failed = s.statuses.some((x) => x !== 'ok') ? ` (${s.statuses.filter((x) => x !== 'ok').length} failed)` : '';
  return `${spreadText(s.migrationMs, seconds)} · ${fidelityText(s) || 'n/a'}${failed}`;
}

function nbferryRow(nb: NotebookSummary): string {
  const s = methodOf(nb, 'nbferry');
  const run = spreadText(nb.unrecordedCellMs, seconds);
  if (!s || !s.migrationMs) return `| ${nb.notebook} | ${run} | ${statusText(s)} | | | | | | | |`;
  const f = s.worstFidelity!;
  return `| ${nb.notebook} | ${run} | ${spreadText(s.checkpointMs, seconds)} | ${spreadText(s.restoreMs, seconds)} | ${spreadText(s.migrationMs, seconds)} | ${
    s.bytes ? bytes(s.bytes.median) : '–'
  } | ${f.equal}/${f.verifiable}${f.total > f.verifiable ? ` +${f.total - f.verifiable}` : ''} | ${pct(s.runtimeOverheadPct)} | ${pct(s.hookOverheadPct ?? null)} | ${pct(s.memoryOverheadPct)} |`;
}

function pct(s: Spread | null | undefined): string {
  return s ? spreadText(s, (v) => percent(v)) : '–';
}

function problemLines(nb: NotebookSummary, s: MethodSummary): string[] {
  const out: string[] = [];
  const label = `**${nb.notebook}**, ${s.method}`;
  if (s.statuses.every((x) => x === 'not-run' || x === 'unavailable')) return out; // listed once, above
  for (const failure of s.failures) out.push(`- ${label}: ${cell(failure)}`);
  const f = s.worstFidelity;
  if (f && f.equal < f.total) {
    const parts = [f.different && `${f.different} different`, f.unverifiable && `${f.unverifiable} unverifiable`, f.lost && `${f.lost} lost`].filter(Boolean);
    out.push(`- ${label}: ${f.equal}/${f.total} equal, ${f.verifiable} verifiable (${parts.join(', ')}): ${cell(f.examples.join('; '))}`);
  }
  return out;
}

/** Issue 17: where each nbferry migration's time went (first repeat of each notebook), cold and pre-copied. */
function breakdownLines(report: BenchReport): string[] {
  const rows = report.trials.flatMap((t) =>
    t.methods
      .filter((m) => m.breakdown && m.migrationMs !== null)
      .map((m) => {
        const b = m.breakdown!;
        const ready = b.targetReadyMs === undefined ? '–' : seconds(b.targetReadyMs);
        return `| ${t.notebook} | ${m.method}${t.repeat ? ` #${t.repeat + 1}` : ''} | ${seconds(m.migrationMs!)} | ${ready} | ${seconds(b.checkpointMs)} | ${seconds(b.waitTargetMs)} | ${seconds(b.loadMs)} | ${seconds(b.rerunMs)} | ${seconds(b.verifyMs)} | ${bytes(b.writtenBytes)} | ${bytes(b.precopiedBytes)} |`;
      }),
  );
  if (rows.length === 0) return [];
  return [
    '## nbferry migration breakdown',
    '',
    'Pipelined: loads overlap the checkpoint\'s save, so the parts add up to more than the migration. "target ready": from launching the fresh target to its being ready (started, shim in, the source\'s modules imported). "waiting for the target": the target was not ready when its work could begin (after the source planned).',
    '',
    ...floorLines(report),
    '| notebook | method | migration | target ready | checkpoint | waiting for the target | loads | reruns | verification | written | already stored |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
    ...rows,
    '',
  ];
}

/**
 * The floor of a migration into a fresh kernel: its target's readiness alone (first repeat), over
 * dill dump+load, median over the notebooks dill completes. A ratio target below it cannot be met
 * by anything the migration itself does.
 */
function floorLines(report: BenchReport): string[] {
  const lines: string[] = [];
  for (const method of ['nbferry', 'nbferry-precopy'] as const) {
    const ratios: number[] = [];
    for (const nb of report.notebooks) {
      const dill = methodOf(nb, 'dill');
      const trial = report.trials.find((t) => t.notebook === nb.notebook && t.repeat === 0)?.methods.find((m) => m.method === method);
      const ready = trial?.breakdown?.targetReadyMs;
      if (!dill?.migrationMs || !dill.statuses.every((s) => s === 'ok') || ready === undefined || trial?.migrationMs === null) continue;
      ratios.push(ready / dill.migrationMs.median);
    }
    if (ratios.length === 0) continue;
    const sorted = [...ratios].sort((a, b) => a - b);
    lines.push(`- ${method}: the fresh target's readiness alone is a median ${median(ratios).toFixed(2)}× dill dump+load over ${ratios.length} notebooks (min ${sorted[0]!.toFixed(2)}×, max ${sorted.at(-1)!.toFixed(2)}×): no migration into a fresh kernel here is faster.`);
  }
  return lines.length === 0 ? [] : ['Floor:', '', ...lines, ''];
}

/** Issue 17: every method given the same pre-started kernel (MethodTrial.pooledMs), and nbferry-precopy's standby (standbyMs). */
function pooledLines(report: BenchReport, methods: readonly MethodSummary['method'][]): string[] {
  const shown = methods.filter((m) => report.notebooks.some((nb) => methodOf(nb, m)?.pooledMs));
  if (shown.length === 0) return [];
  const standby = report.notebooks.some((nb) => methodOf(nb, 'nbferry-precopy')?.standbyMs);
  const timeText = (s: Spread | null | undefined) => (s ? spreadText(s, seconds) : '–');
  return [
    '## Migration time with a pre-started kernel (pooled)',
    '',
    'Every method given the same kind of kernel, started with numpy/pandas imported (those the notebook imports) before the migration began; nbferry\'s also has the shim in (what WarmPool prepares).' +
      (standby ? ' "nbferry-precopy standby": the same kind of kernel, which followed the source\'s auto-checkpoints while the notebook ran (Standby, each catch-up between cells, not timed); timed: the last checkpoint and the catch-up to it.' : ''),
    '',
    `| notebook | ${shown.join(' | ')}${standby ? ' | nbferry-precopy standby' : ''} |`,
    `| --- | ${shown.map(() => '---').join(' | ')}${standby ? ' | ---' : ''} |`,
    ...report.notebooks.map((nb) => `| ${nb.notebook} | ${shown.map((m) => timeText(methodOf(nb, m)?.pooledMs)).join(' | ')}${standby ? ` | ${timeText(methodOf(nb, 'nbferry-precopy')?.standbyMs)}` : ''} |`),
    '',
  ];
}
