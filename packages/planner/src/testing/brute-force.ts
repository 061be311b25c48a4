import type { PlanningProblem } from '../problem.js';

/** One valid plan: which groups are serialized and the least set of cells (indices) to rerun. */
export interface EnumeratedPlan {
  serialized: boolean[];
  rerun: Set<number>;
}

/**
 * Every valid plan of a small problem, by exhaustive enumeration of serialize/recompute choices and
 * a naive closure written directly from the semantics (independent of the planner's code).
 * Risky cells are allowed only if every valid plan needs them. Test support.
 */
export function enumeratePlans(problem: PlanningProblem): EnumeratedPlan[] {
  const { cells, groups } = problem;
  const groupOf = new Map<string, number>();
  groups.forEach((g, i) => g.names.forEach((n) => groupOf.set(n, i)));
  const versionBefore = (name: string, i: number): string | null => {
    for (let j = i - 1; j >= 0; j--) {
      if (cells[j]!.deletes.includes(name)) return null;
      if (cells[j]!.writes.includes(name)) return `c${j}`;
    }
    return 'initial';
  };
  const active = (name: string): string => versionBefore(name, cells.length) ?? 'outside';

  const closure = (serialized: boolean[]): Set<number> | null => {
    const rerun = new Set<number>();
    const stack: number[] = [];
    for (const [g, group] of groups.entries()) {
      if (serialized[g]) continue;
      for (const name of group.names) {
        const v = active(name);
        if (!v.startsWith('c')) return null;
        stack.push(Number(v.slice(1)));
      }
    }
    while (stack.length > 0) {
      const c = stack.pop()!;
      if (rerun.has(c)) continue;
      rerun.add(c);
      const cell = cells[c]!;
      if (!cell.success || cell.replayable === false) return null;
      for (const name of cell.reads) {
        const v = versionBefore(name, c);
        if (v === null || (groupOf.has(name) && v === active(name))) continue;
        if (v === 'initial') return null;
        stack.push(Number(v.slice(1)));
      }
    }
    return rerun;
  };

  const plans: EnumeratedPlan[] = [];
  for (let mask = 0; mask < 1 << groups.length; mask++) {
    const serialized = groups.map((_, g) => (mask & (1 << g)) !== 0);
    if (groups.some((g, i) => serialized[i] && !g.serializable)) continue;
    const rerun = closure(serialized);
    if (rerun) plans.push({ serialized, rerun });
  }
  const maximal = closure(groups.map((g) => g.serializable));
  if (maximal === null) return [];
  const risky = (c: number): boolean => cells[c]!.sideEffects || cells[c]!.nondeterministic;
  // A forced nondeterministic rerun gives new values: whatever computes from them (reading a
  // version that cannot be loaded) is tainted too. Tainted cells' outputs are saved, and no
  // cell beyond the forced ones is rerun on top of them.
  const tainted = new Set<number>();
  cells.forEach((cell, c) => {
    if (maximal.has(c) && cell.nondeterministic) tainted.add(c);
    for (const name of cell.reads) {
      const v = versionBefore(name, c);
      if (v === null || !v.startsWith('c') || (groupOf.has(name) && v === active(name))) continue;
      if (tainted.has(Number(v.slice(1)))) tainted.add(c);
    }
  });
  const mustSave = groups.map((g) => g.serializable && g.names.some((n) => active(n).startsWith('c') && tainted.has(Number(active(n).slice(1)))));
  return plans.filter(
    (p) =>
      [...p.rerun].every((c) => maximal.has(c) || (!risky(c) && !tainted.has(c))) &&
      mustSave.every((must, g) => !must || p.serialized[g]),
  );
}
