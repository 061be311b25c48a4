/** From trials to per-notebook, per-method summaries: median and range over repeats. Pure. */
import type { CorpusNotebook } from './corpus.js';
import { fidelityRatio } from './fidelity.js';
import { percentOver, spread } from './stats.js';
import { METHODS, type MethodSummary, type MethodTrial, type NotebookSummary, type NotebookTrial } from './types.js';

export function summarize(notebooks: readonly CorpusNotebook[], trials: readonly NotebookTrial[]): NotebookSummary[] {
  return notebooks.map((notebook) => {
    const mine = trials.filter((t) => t.notebook === notebook.path).sort((a, b) => a.repeat - b.repeat);
    const methods = METHODS.map((method) => summarizeMethod(method, mine.flatMap((t) => t.methods.filter((m) => m.method === method))));
    return {
      notebook: notebook.path,
      dataset: notebook.dataset,
      declaredDeterministic: notebook.deterministicRerun,
      unrecordedCellMs: spread(mine.map((t) => t.unrecorded.cellMs)),
      methods: methods.filter((m): m is MethodSummary => m !== null),
    };
  });
}

export function summarizeMethod(method: MethodSummary['method'], runs: readonly MethodTrial[]): MethodSummary | null {
  if (runs.length === 0) return null;
  const withFidelity = runs.filter((r) => r.fidelity !== null);
  const worst = withFidelity.reduce<MethodTrial | undefined>(
    (w, r) => (w === undefined || fidelityRatio(r.fidelity!) < fidelityRatio(w.fidelity!) ? r : w),
    undefined,
  );
  return {
    method,
    statuses: runs.map((r) => r.status),
    failures: [...new Set(runs.map((r) => r.failure).filter((f): f is string => f !== undefined))],
    checkpointMs: spread(runs.map((r) => r.checkpointMs)),
    restoreMs: spread(runs.map((r) => r.restoreMs)),
    migrationMs: spread(runs.filter((r) => r.status === 'ok').map((r) => r.migrationMs)),
    pooledMs: spread(runs.filter((r) => r.status === 'ok').map((r) => r.pooledMs ?? null)),
    standbyMs: spread(runs.filter((r) => r.status === 'ok').map((r) => r.standbyMs ?? null)),
    bytes: spread(runs.map((r) => r.bytes)),
    fidelity: spread(withFidelity.map((r) => fidelityRatio(r.fidelity!))),
    worstFidelity: worst?.fidelity ?? null,
    runtimeOverheadPct: spread(runs.map((r) => percentOver(r.overhead?.recordedCellMs, r.overhead?.unrecordedCellMs))),
    hookOverheadPct: spread(runs.map((r) => percentOver(r.overhead?.recordedCellMs, (r.overhead?.recordedCellMs ?? 0) - (r.overhead?.hookMs ?? Number.NaN)))),
    memoryOverheadPct: spread(runs.map((r) => percentOver(r.overhead?.recordedPeakRssMiB, r.overhead?.unrecordedPeakRssMiB))),
    notes: [...new Set(runs.flatMap((r) => r.notes))].slice(0, 8),
  };
}

export function methodOf(notebook: NotebookSummary, method: MethodSummary['method']): MethodSummary | undefined {
  return notebook.methods.find((m) => m.method === method);
}
