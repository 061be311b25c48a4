/**
 * Split groups: a measured group whose members cannot all be pickled comes as two groups marked
 * with the same `splitOf`: the members that can be saved, and those that cannot. The min-cut can
 * then load the first and rerun cells only for the second, instead of rerunning everything that
 * produced the whole group (a rerun cascade, and new values for an unseeded draw).
 *
 * The halves share objects. Loading one and recomputing the other keeps that sharing only if the
 * recomputed half takes the shared objects from the loaded one, never the other way round:
 * - no rerun may rebind, modify or delete a loaded name (it would make new objects, and the load
 *   binds others);
 * - no cell that wrote a loaded name may have read a recomputed one (the loaded value holds objects
 *   that came from the recomputed half, which its reruns make anew).
 * A plan that breaks either is made again with the offending names moved to the recomputed half;
 * when none is left to load, the family is one unserializable group again, recomputed whole.
 * Sharing through objects no variable names (a module's global) is beyond this model: the restore
 * checks on the target that the family still shares objects.
 */
import type { PlanningProblem, VariableGroup } from './problem.js';
import type { ReplicationPlan } from './replication-plan.js';

/** Per family (`splitOf`) the plan splits (some of it loaded, some recomputed): the names of each side. */
export function splitFamilies(problem: PlanningProblem, plan: ReplicationPlan): Map<string, { loaded: Set<string>; recomputed: Set<string> }> {
  const decision = new Map(plan.groups.map((g) => [g.id, g.decision]));
  const split = new Map<string, { loaded: Set<string>; recomputed: Set<string> }>();
  for (const [family, halves] of families(problem.groups)) {
    const loaded = new Set(halves.filter((g) => decision.get(g.id) === 'serialize').flatMap((g) => g.names));
    const recomputed = new Set(halves.filter((g) => decision.get(g.id) !== 'serialize').flatMap((g) => g.names));
    if (loaded.size > 0 && recomputed.size > 0) split.set(family, { loaded, recomputed });
  }
  return split;
}

/** Per family (`splitOf`) the plan splits unsafely: the loaded names that must be recomputed with the rest. */
export function unsafeSplits(problem: PlanningProblem, plan: ReplicationPlan): Map<string, Set<string>> {
  const rerun = new Set(plan.rerun);
  const unsafe = new Map<string, Set<string>>();
  for (const [family, { loaded, recomputed }] of splitFamilies(problem, plan)) {
    const move = new Set<string>();
    for (const cell of problem.cells) {
      const wrote = [...cell.writes, ...cell.deletes].filter((name) => loaded.has(name));
      if (wrote.length === 0) continue;
      if (rerun.has(cell.id) || cell.reads.some((name) => recomputed.has(name))) for (const name of wrote) move.add(name);
    }
    if (move.size > 0) unsafe.set(family, move);
  }
  return unsafe;
}

/** Moves each family's `unsafe` names from its saveable halves to its unserializable one. */
export function rebalanceSplits(problem: PlanningProblem, unsafe: ReadonlyMap<string, ReadonlySet<string>>): PlanningProblem {
  const all = families(problem.groups);
  const groups: VariableGroup[] = [];
  for (const group of problem.groups) {
    const move = group.splitOf === undefined ? undefined : unsafe.get(group.splitOf);
    if (!move) {
      groups.push(group);
      continue;
    }
    if (group.serializable) {
      const kept = group.names.filter((name) => !move.has(name));
      if (kept.length > 0) groups.push({ ...group, names: kept });
      continue;
    }
    const halves = all.get(group.splitOf!)!;
    if (halves.find((g) => !g.serializable) !== group) {
      groups.push(group);
      continue;
    }
    const moved = halves.filter((g) => g.serializable).flatMap((g) => g.names.filter((name) => move.has(name)));
    const left = halves.filter((g) => g.serializable).some((g) => g.names.some((name) => !move.has(name)));
    const why = group.reason ?? 'part of it cannot be serialized';
    const joined = `${why}; ${moved.join(', ')} ${moved.length === 1 ? 'shares' : 'share'} objects with it and must be recomputed with it`;
    const names = [...group.names, ...moved];
    groups.push(
      left
        ? { ...group, names, reason: joined }
        : { id: group.splitOf!, names, serializable: false, reason: joined, bytes: 0 },
    );
  }
  return { ...problem, groups };
}

/**
 * Plans with `plan`, moving the names an unsafe split would load to the recomputed side and
 * planning again, until the split is safe (each round moves at least one name). Returns the result
 * with the problem it was made for: its groups are the plan's.
 */
export function keepingSplitsSafe<T>(
  problem: PlanningProblem,
  plan: (p: PlanningProblem) => T,
  planOf: (result: T) => ReplicationPlan,
): { result: T; problem: PlanningProblem } {
  let current = problem;
  for (;;) {
    const result = plan(current);
    const unsafe = unsafeSplits(current, planOf(result));
    if (unsafe.size === 0) return { result, problem: current };
    current = rebalanceSplits(current, unsafe);
  }
}

function families(groups: readonly VariableGroup[]): Map<string, VariableGroup[]> {
  const out = new Map<string, VariableGroup[]>();
  for (const group of groups) {
    if (group.splitOf === undefined) continue;
    const halves = out.get(group.splitOf);
    if (halves) halves.push(group);
    else out.set(group.splitOf, [group]);
  }
  return out;
}
