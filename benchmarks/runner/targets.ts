/**
 * The issue's targets, evaluated on measured summaries (pure):
 * - nbferry's migration time ≤ 0.5× the best baseline's, and ≤ 0.1× rerun-all's (median over
 *   notebooks of the per-notebook ratio of medians; a baseline counts when it completed, even
 *   if it lost variables, which makes the target stricter);
 * - fidelity 100% on every notebook where rerun-all itself reproduced every variable;
 * - recording overhead ≤ 1% median and ≤ 2.5% worst over notebooks; memory ≤ 5% worst;
 * - the shim's own hook time ≤ 1% median and ≤ 5% worst (issue 17).
 */
import { median } from '../stats.js';
import { methodOf } from './summary.js';
import type { MethodName, NotebookSummary } from './types.js';

export interface TargetResult {
  name: string;
  goal: string;
  measured: string;
  /** null when there was nothing to measure it on (e.g. nbferry not run). */
  met: boolean | null;
  /** The notebooks that miss it, or that it could not be measured on. */
  misses: string[];
}

export function evaluateTargets(notebooks: readonly NotebookSummary[]): TargetResult[] {
  return [
    timeRatioTarget(notebooks, 'best'),
    timeRatioTarget(notebooks, 'rerun-all'),
    versusTarget(notebooks, 'nbferry', 'dill', 0.5, 'cold migration vs dill dump+load'),
    versusTarget(notebooks, 'nbferry-precopy', 'dill', 0.2, 'pre-copied migration vs dill dump+load'),
    versusTarget(notebooks, 'nbferry', 'dill', 0.5, 'pooled: migration vs dill dump+load, same pre-started kernel', 'pooledMs'),
    versusTarget(notebooks, 'nbferry-precopy', 'dill', 0.2, 'pooled: pre-copied migration vs dill dump+load, same pre-started kernel', 'pooledMs'),
    versusTarget(notebooks, 'nbferry-precopy', 'dill', 0.2, 'standby: pre-copied migration into a kernel that followed the auto-checkpoints vs dill dump+load (cold)', 'standbyMs', 'migrationMs'),
    versusTarget(notebooks, 'nbferry-precopy', 'dill', 0.2, 'standby vs dill dump+load into the same kind of pre-started kernel', 'standbyMs', 'pooledMs'),
    neverSlowerTarget(notebooks),
    fidelityTarget(notebooks),
    fidelityVsRerun(notebooks),
    ...overheadTargets(notebooks),
  ];
}

function timeRatioTarget(notebooks: readonly NotebookSummary[], against: 'best' | 'rerun-all'): TargetResult {
  const limit = against === 'best' ? 0.5 : 0.1;
  const ratios: { notebook: string; ratio: number; baseline: string }[] = [];
  const misses: string[] = [];
  for (const nb of notebooks) {
    const ours = methodOf(nb, 'nbferry')?.migrationMs?.median;
    const candidates = nb.methods.filter((m) => !m.method.startsWith('nbferry') && (against === 'best' || m.method === 'rerun-all') && m.migrationMs);
    const best = candidates.sort((a, b) => a.migrationMs!.median - b.migrationMs!.median)[0];
    if (ours === undefined || !best) {
      misses.push(`${nb.notebook} (${ours === undefined ? 'nbferry did not complete' : 'no baseline completed'})`);
      continue;
    }
    const ratio = ours / best.migrationMs!.median;
    ratios.push({ notebook: nb.notebook, ratio, baseline: best.method });
    if (ratio > limit) misses.push(`${nb.notebook} (${ratio.toFixed(2)}× ${best.method})`);
  }
  const med = ratios.length ? median(ratios.map((r) => r.ratio)) : null;
  const worst = ratios.sort((a, b) => b.ratio - a.ratio)[0];
  return {
    name: against === 'best' ? 'migration time vs best baseline' : 'migration time vs rerun-all',
    goal: `median ratio ≤ ${limit}`,
    measured: med === null ? 'not measured' : `median ${med.toFixed(2)}× (worst ${worst!.ratio.toFixed(2)}× on ${worst!.notebook} vs ${worst!.baseline})`,
    met: med === null ? null : med <= limit,
    misses,
  };
}

/** Issue 17: `ours`'s migration time over `baseline`'s, median over the notebooks both complete (ok status). */
function versusTarget(
  notebooks: readonly NotebookSummary[],
  ours: MethodName,
  baseline: MethodName,
  limit: number,
  name: string,
  key: 'migrationMs' | 'pooledMs' | 'standbyMs' = 'migrationMs',
  baselineKey: 'migrationMs' | 'pooledMs' = key === 'standbyMs' ? 'pooledMs' : key,
): TargetResult {
  const ratios: { notebook: string; ratio: number }[] = [];
  const misses: string[] = [];
  for (const nb of notebooks) {
    const a = methodOf(nb, ours);
    const b = methodOf(nb, baseline);
    const completed = (s: typeof a, k: typeof key) => s?.[k] && s.statuses.every((x) => x === 'ok');
    if (!completed(a, key) || !completed(b, baselineKey)) continue;
    const ratio = a![key]!.median / b![baselineKey]!.median;
    ratios.push({ notebook: nb.notebook, ratio });
    if (ratio > limit) misses.push(`${nb.notebook} (${ratio.toFixed(2)}×)`);
  }
  const med = ratios.length ? median(ratios.map((r) => r.ratio)) : null;
  const worst = [...ratios].sort((x, y) => y.ratio - x.ratio)[0];
  return {
    name,
    goal: `median ratio ≤ ${limit} (notebooks ${baseline} completes)`,
    measured: med === null ? 'not measured' : `median ${med.toFixed(2)}× over ${ratios.length} notebooks (worst ${worst!.ratio.toFixed(2)}× on ${worst!.notebook})`,
    met: med === null ? null : med <= limit,
    misses,
  };
}

/** Issue 17: a cold nbferry migration is never slower than rerun-all, on any notebook. */
function neverSlowerTarget(notebooks: readonly NotebookSummary[]): TargetResult {
  const slower: string[] = [];
  let compared = 0;
  for (const nb of notebooks) {
    const ours = methodOf(nb, 'nbferry')?.migrationMs?.median;
    const rerun = methodOf(nb, 'rerun-all')?.migrationMs?.median;
    if (ours === undefined || rerun === undefined) continue;
    compared++;
    if (ours > rerun) slower.push(`${nb.notebook} (${(ours / 1000).toFixed(2)} s vs ${(rerun / 1000).toFixed(2)} s)`);
  }
  return {
    name: 'cold migration never slower than rerun-all',
    goal: 'on every notebook',
    measured: compared === 0 ? 'not measured' : `${compared - slower.length}/${compared} notebooks`,
    met: compared === 0 ? null : slower.length === 0,
    misses: slower,
  };
}

function fidelityTarget(notebooks: readonly NotebookSummary[]): TargetResult {
  const deterministic = notebooks.filter((nb) => methodOf(nb, 'rerun-all')?.fidelity?.min === 1);
  const misses = deterministic
    .filter((nb) => methodOf(nb, 'nbferry')?.fidelity?.min !== 1)
    .map((nb) => {
      const f = methodOf(nb, 'nbferry')?.worstFidelity;
      return `${nb.notebook} (${f ? `${f.equal}/${f.total}` : 'not run'})`;
    });
  return {
    name: 'fidelity where rerun-all is deterministic',
    goal: '100% on each such notebook',
    measured: deterministic.length === 0 ? 'no notebook where rerun-all reproduced every variable' : `${deterministic.length - misses.length}/${deterministic.length} notebooks at 100%`,
    met: deterministic.length === 0 ? null : misses.length === 0,
    misses,
  };
}

/**
 * Figures and other opaque values cannot be fingerprinted, so a notebook that has one is never
 * at 100% for any method. This second view asks, on every notebook the manifest declares
 * deterministic: does nbferry bring back (provably) at least as many variables as rerun-all?
 */
function fidelityVsRerun(notebooks: readonly NotebookSummary[]): TargetResult {
  const compared = notebooks.filter((nb) => nb.declaredDeterministic !== false && methodOf(nb, 'rerun-all')?.worstFidelity && methodOf(nb, 'nbferry'));
  const misses = compared
    .filter((nb) => (methodOf(nb, 'nbferry')?.worstFidelity?.equal ?? -1) < methodOf(nb, 'rerun-all')!.worstFidelity!.equal)
    .map((nb) => `${nb.notebook} (${methodOf(nb, 'nbferry')?.worstFidelity?.equal ?? 'failed'} vs ${methodOf(nb, 'rerun-all')!.worstFidelity!.equal} equal)`);
  return {
    name: 'fidelity vs rerun-all (declared deterministic notebooks)',
    goal: 'nbferry equal ≥ rerun-all equal on each',
    measured: compared.length === 0 ? 'not measured' : `${compared.length - misses.length}/${compared.length} notebooks`,
    met: compared.length === 0 ? null : misses.length === 0,
    misses,
  };
}

function overheadTargets(notebooks: readonly NotebookSummary[]): TargetResult[] {
  const of = (key: 'runtimeOverheadPct' | 'memoryOverheadPct', method: MethodName = 'nbferry') =>
    notebooks
      .map((nb) => ({ notebook: nb.notebook, pct: methodOf(nb, method)?.[key]?.median }))
      .filter((x): x is { notebook: string; pct: number } => x.pct !== undefined);
  const runtime = of('runtimeOverheadPct');
  const hooks = notebooks
    .map((nb) => ({ notebook: nb.notebook, pct: methodOf(nb, 'nbferry')?.hookOverheadPct?.median }))
    .filter((x): x is { notebook: string; pct: number } => x.pct !== undefined);
  const hookMedian = hooks.length ? median(hooks.map((r) => r.pct)) : null;
  const worstHook = [...hooks].sort((a, b) => b.pct - a.pct)[0];
  const memory = of('memoryOverheadPct');
  const med = runtime.length ? median(runtime.map((r) => r.pct)) : null;
  const worstRuntime = [...runtime].sort((a, b) => b.pct - a.pct)[0];
  const worstMemory = [...memory].sort((a, b) => b.pct - a.pct)[0];
  const pct = (x: number) => `${x.toFixed(2)}%`;
  return [
    {
      name: 'recording overhead, median',
      goal: '≤ 1%',
      measured: med === null ? 'not measured' : pct(med),
      met: med === null ? null : med <= 1,
      misses: [],
    },
    {
      name: 'recording overhead, worst notebook',
      goal: '≤ 2.5%',
      measured: worstRuntime ? `${pct(worstRuntime.pct)} (${worstRuntime.notebook})` : 'not measured',
      met: worstRuntime ? worstRuntime.pct <= 2.5 : null,
      misses: runtime.filter((r) => r.pct > 2.5).map((r) => `${r.notebook} (${pct(r.pct)})`),
    },
    {
      // Issue 17's target for the shim's own time (the wall-clock overhead above also counts the kernel's noise).
      name: "recording overhead, shim's own hook time (median; worst)",
      goal: '≤ 1%; ≤ 5%',
      measured: hookMedian === null || !worstHook ? 'not measured' : `${pct(hookMedian)}; ${pct(worstHook.pct)} (${worstHook.notebook})`,
      met: hookMedian === null || !worstHook ? null : hookMedian <= 1 && worstHook.pct <= 5,
      misses: hooks.filter((r) => r.pct > 5).map((r) => `${r.notebook} (${pct(r.pct)})`),
    },
    {
      name: 'memory overhead, worst notebook',
      goal: '≤ 5%',
      measured: worstMemory ? `${pct(worstMemory.pct)} (${worstMemory.notebook})` : 'not measured',
      met: worstMemory ? worstMemory.pct <= 5 : null,
      misses: memory.filter((r) => r.pct > 5).map((r) => `${r.notebook} (${pct(r.pct)})`),
    },
  ];
}
