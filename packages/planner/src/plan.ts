import { prepare, type PlanningContext } from './context.js';
import { objectiveCapacities, type Capacities } from './cost-model.js';
import { decideByMinCut, decisionCost, type Decision, type MaxFlowAlgorithm } from './decide.js';
import { formatCells } from './format.js';
import { ABSENT } from './history.js';
import type { Objective, PlanningProblem } from './problem.js';
import { explainDecision } from './reasons.js';
import type { GroupPlan, PlanDependencies, ReplicationPlan, RestoreStep, VariablePlan } from './replication-plan.js';
import { buildRestoreProgram } from './restore-program.js';
import { cheapestWholePlan } from './whole-plan-check.js';

export interface PlanOptions {
  /** Max-flow algorithm. Push-relabel is the production solver; Dinic is the test oracle. */
  algorithm?: MaxFlowAlgorithm;
  /**
   * Return a whole-state plan (rerun what is needed and load nothing, or save everything) when it
   * predicts better than the min-cut's once extra loads are counted. Default true; false gives
   * the min-cut's plan as is (tests compare it with brute force).
   */
  wholePlanCheck?: boolean;
}

/**
 * Chooses, per variable group, serialize or recompute so that the caller's objective is minimal,
 * and returns the complete plan: what to save, the restore program, predictions and reasons.
 *
 * Throws InvalidProblemError for malformed input and NoValidPlanError when some variable can be
 * neither saved nor recomputed.
 */
export function planReplication(problem: PlanningProblem, options: PlanOptions = {}): ReplicationPlan {
  const ctx = prepare(problem);
  const objective = problem.costs.objective;
  const caps = objectiveCapacities(ctx.costs, objective);
  const algorithm = options.algorithm ?? 'push-relabel';
  const decision = decideByMinCut(ctx.history, ctx.feasibility, caps, algorithm);
  const plan = assemblePlan(ctx, decision, objective, caps, algorithm);
  if (options.wholePlanCheck === false) return plan;
  return cheapestWholePlan(
    ctx,
    plan,
    (d) => assemblePlan(ctx, d, objective, caps, algorithm),
    (groups) => assemblePlan(ctx, decideByMinCut(ctx.history, ctx.feasibility, recomputingCaps(caps, groups), algorithm), objective, caps, algorithm),
  );
}

/** `caps` with these groups' serialize capacity above any finite cut: the min-cut recomputes them. */
function recomputingCaps(caps: Capacities, groups: ReadonlySet<number>): Capacities {
  let total = 0;
  for (const a of [caps.group, caps.groupRecompute, caps.cell]) for (const x of a) total += x;
  const group = Float64Array.from(caps.group, (x, g) => (groups.has(g) ? total + 1 : x));
  return { ...caps, group };
}

/** Turns a decision into the public plan: restore program, predictions, reasons. */
export function assemblePlan(
  ctx: PlanningContext,
  d: Decision,
  objective: Objective,
  caps: Capacities,
  algorithm: string,
): ReplicationPlan {
  const { problem, history: h } = ctx;
  const program = buildRestoreProgram(h, d, ctx.feasibility.tainted);
  const reasons = explainDecision(ctx, d, objective);
  const cellId = (c: number): number => problem.cells[c]!.id;

  const steps: RestoreStep[] = program.steps.map((s) =>
    s.kind === 'run'
      ? { kind: 'run', cell: cellId(s.cell) }
      : { kind: 'load', group: problem.groups[s.group]!.id, names: s.names.map((n) => h.names[n]!) },
  );

  let checkpointMs = 0;
  let restoreMs = 0;
  let bytes = 0;
  let extraLoads = 0;
  let extraLoadMs = 0;
  const groups: GroupPlan[] = problem.groups.map((group, g) => {
    const cost = { checkpointMs: ctx.costs.checkpointMs[g]!, loadMs: ctx.costs.loadMs[g]!, bytes: ctx.costs.bytes[g]! };
    const serialized = d.recompute[g] === 0;
    const loads = program.loads[g]!;
    if (serialized) {
      checkpointMs += cost.checkpointMs;
      bytes += cost.bytes;
    }
    restoreMs += loads * cost.loadMs + (serialized ? 0 : ctx.costs.verifyMs[g]!);
    extraLoads += Math.max(0, loads - 1);
    extraLoadMs += Math.max(0, loads - 1) * cost.loadMs;
    const producedBy = new Set<number>();
    if (!serialized) {
      for (let k = h.groupWriterStart[g]!; k < h.groupWriterStart[g + 1]!; k++) producedBy.add(cellId(h.groupWriter[k]!));
    }
    return {
      id: group.id,
      names: [...group.names],
      decision: serialized ? 'serialize' : 'recompute',
      reason: reasons.group[g]!,
      bytes: cost.bytes,
      checkpointMs: serialized ? cost.checkpointMs : 0,
      loadMs: cost.loadMs,
      loads,
      producedBy: [...producedBy].sort((a, b) => a - b),
    };
  });
  const rerun: number[] = [];
  for (let c = 0; c < h.cellCount; c++) {
    if (!d.rerun[c]) continue;
    rerun.push(cellId(c));
    restoreMs += ctx.costs.rerunMs[c]!;
  }

  const variables: VariablePlan[] = [];
  groups.forEach((group, g) => {
    for (const id of h.groupNames[g]!) {
      const version = h.activeVersion[id]!;
      const producedBy = version >= 0 ? cellId(version) : null;
      const how =
        group.decision === 'serialize'
          ? `loaded from group ${group.id}`
          : `recomputed by rerunning ${formatCells([producedBy!])}`;
      variables.push({
        name: h.names[id]!,
        group: group.id,
        decision: group.decision,
        producedBy,
        reason: `${how}: ${group.reason}`,
      });
    }
  });

  const warnings = [...reasons.warnings];
  for (const group of groups) {
    if (group.loads > 1) {
      warnings.push(`group ${group.id} is loaded ${group.loads} times: reruns overwrite names of it after an early load`);
    }
  }

  return {
    objective,
    serialize: groups.filter((g) => g.decision === 'serialize').map((g) => g.id),
    rerun,
    program: steps,
    groups,
    variables,
    predicted: { checkpointMs, restoreMs, migrationMs: checkpointMs + restoreMs, bytes, extraLoads, extraLoadMs },
    warnings,
    strayNames: program.strayNames.map((n) => h.names[n]!),
    dependencies: dependenciesOf(ctx, d),
    solver: {
      algorithm,
      nodes: d.network.nodes,
      edges: d.network.edges,
      cellsInHistory: h.cellCount,
      cutValue: d.network.cutValue,
      objectiveValue: decisionCost(d, caps),
      quantum: caps.quantum,
      solveMs: d.network.solveMs,
    },
  };
}

function dependenciesOf(ctx: PlanningContext, d: Decision): PlanDependencies {
  const { problem, history: h } = ctx;
  const cellId = (c: number): number => problem.cells[c]!.id;
  const deps: PlanDependencies = { cellToCell: [], groupToCell: [], cellToGroup: [] };
  for (let c = 0; c < h.cellCount; c++) {
    if (!d.rerun[c]) continue;
    for (let k = h.prereqStart[c]!; k < h.prereqStart[c + 1]!; k++) {
      deps.cellToCell.push([cellId(h.prereq[k]!), cellId(c)]);
    }
    const loadedFrom = new Set<number>();
    for (let k = h.readStart[c]!; k < h.readStart[c + 1]!; k++) {
      const name = h.readName[k]!;
      const g = h.groupOfName[name]!;
      const version = h.readVersion[k]!;
      if (g >= 0 && !d.recompute[g] && version !== ABSENT && version === h.activeVersion[name]) loadedFrom.add(g);
    }
    for (const g of loadedFrom) deps.groupToCell.push([problem.groups[g]!.id, cellId(c)]);
  }
  for (let g = 0; g < h.groupNames.length; g++) {
    if (!d.recompute[g]) continue;
    for (let k = h.groupWriterStart[g]!; k < h.groupWriterStart[g + 1]!; k++) {
      deps.cellToGroup.push([cellId(h.groupWriter[k]!), problem.groups[g]!.id]);
    }
  }
  return deps;
}
