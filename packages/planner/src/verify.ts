import type { PlanningProblem } from './problem.js';
import type { ReplicationPlan } from './replication-plan.js';

/**
 * Replays a plan's restore program against the problem's semantics and lists every way it is not
 * executable (empty = valid). Deliberately a naive, independent re-implementation (string maps,
 * quadratic scans) so it can serve as an oracle for the planner; use it on small problems or in
 * debug builds.
 *
 * Checks: every rerun cell is replayable (succeeded, replayable, risky cells only with a warning);
 * when it runs, every name it reads holds the version it read originally; loads only bind
 * serialized groups' names; at the end every active variable holds its active version and every
 * serialized group was last loaded whole and not overwritten since (shared references intact), and
 * the loaded half of a split group whose other half is recomputed is neither rebound by a rerun
 * nor written by a cell that read the recomputed half.
 */
export function verifyPlan(problem: PlanningProblem, plan: ReplicationPlan): string[] {
  const issues: string[] = [];
  const cells = problem.cells;
  const indexOf = new Map(cells.map((c, i) => [c.id, i]));
  const groupById = new Map(problem.groups.map((g) => [g.id, g]));
  const serialized = new Set(plan.serialize);

  /** Version of `name` just before cell index i: "c<j>" for a write by cell j, "initial", or null if deleted. */
  const versionBefore = (name: string, i: number): string | null => {
    for (let j = i - 1; j >= 0; j--) {
      if (cells[j]!.deletes.includes(name)) return null;
      if (cells[j]!.writes.includes(name)) return `c${j}`;
    }
    return 'initial';
  };
  const activeVersion = (name: string): string => versionBefore(name, cells.length) ?? 'outside';

  for (const group of problem.groups) {
    if (!group.serializable && serialized.has(group.id)) issues.push(`unserializable group ${group.id} is serialized`);
  }

  const state = new Map<string, string>();
  const intactSince = new Map<string, boolean>();
  const ran: number[] = [];
  for (const step of plan.program) {
    if (step.kind === 'load') {
      const group = groupById.get(step.group);
      if (!group || !serialized.has(step.group)) {
        issues.push(`load of group ${step.group}, which is not serialized`);
        continue;
      }
      for (const name of step.names) {
        if (!group.names.includes(name)) issues.push(`load of group ${step.group} binds foreign name ${name}`);
        state.set(name, activeVersion(name));
      }
      intactSince.set(group.id, group.names.every((n) => step.names.includes(n)));
      continue;
    }
    const i = indexOf.get(step.cell);
    if (i === undefined) {
      issues.push(`run of unknown cell ${step.cell}`);
      continue;
    }
    const cell = cells[i]!;
    ran.push(step.cell);
    if (!cell.success || cell.replayable === false) issues.push(`cell ${cell.id} cannot be replayed but is rerun`);
    if ((cell.sideEffects || cell.nondeterministic) && !plan.warnings.some((w) => w.includes(`cell ${cell.id} `))) {
      issues.push(`risky cell ${cell.id} is rerun without a warning`);
    }
    for (const name of new Set(cell.reads)) {
      const needed = versionBefore(name, i);
      if (needed !== null && state.get(name) !== needed) {
        issues.push(`cell ${cell.id} needs ${name}@${needed} but finds ${state.get(name) ?? 'nothing'}`);
      }
    }
    for (const name of cell.writes) if (!cell.deletes.includes(name)) state.set(name, `c${i}`);
    for (const name of cell.deletes) state.delete(name);
    for (const group of problem.groups) {
      if (group.names.some((n) => cell.writes.includes(n) || cell.deletes.includes(n))) intactSince.set(group.id, false);
    }
  }

  const expectedRuns = [...plan.rerun];
  if (JSON.stringify(ran) !== JSON.stringify(expectedRuns)) issues.push('program runs differ from plan.rerun');
  const order = ran.map((id) => indexOf.get(id) ?? -1);
  if (order.some((x, k) => k > 0 && x <= order[k - 1]!)) issues.push('reruns are not in session order');

  for (const group of problem.groups) {
    for (const name of group.names) {
      const want = activeVersion(name);
      if (state.get(name) !== want) issues.push(`${name} ends as ${state.get(name) ?? 'nothing'}, not ${want}`);
    }
    if (serialized.has(group.id) && intactSince.get(group.id) !== true) {
      issues.push(`serialized group ${group.id} is not loaded whole after its last overwrite`);
    }
    // Halves of a split group, one loaded and one recomputed: the recomputed half must take the
    // shared objects from the loaded one, so no rerun rebinds a loaded name and no cell that wrote
    // one read a recomputed name.
    if (group.splitOf !== undefined && serialized.has(group.id)) {
      const recomputed = problem.groups.filter((g) => g.splitOf === group.splitOf && !serialized.has(g.id)).flatMap((g) => g.names);
      for (const cell of cells) {
        if (recomputed.length === 0 || !group.names.some((n) => cell.writes.includes(n) || cell.deletes.includes(n))) continue;
        if (ran.includes(cell.id)) issues.push(`cell ${cell.id} is rerun and rebinds ${group.id}, loaded apart from the rest of ${group.splitOf}`);
        else if (recomputed.some((n) => cell.reads.includes(n))) {
          issues.push(`cell ${cell.id} wrote ${group.id} from a recomputed part of ${group.splitOf}, and ${group.id} is loaded`);
        }
      }
    }
  }
  return issues;
}
