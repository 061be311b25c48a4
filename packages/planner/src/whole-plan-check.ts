import type { PlanningContext } from './context.js';
import { decideByClosure, type Decision } from './decide.js';
import { GroupStatus } from './feasibility.js';
import { formatMs } from './format.js';
import type { Objective } from './problem.js';
import type { PlanChoice, ReplicationPlan } from './replication-plan.js';

type Assemble = (d: Decision) => ReplicationPlan;
/** The min-cut solved again with these groups (free ones, by index) recomputed whatever it costs. */
type Recomputing = (groups: ReadonlySet<number>) => ReplicationPlan;

/** Rounds of "recompute what was loaded twice, solve again": each adds a group; a few suffice. */
const RELOAD_ROUNDS = 4;

/**
 * The min-cut is optimal for its model, which charges one load per saved group; the restore
 * program may load a group again after reruns that overwrite it, and those extra loads can make
 * the chosen plan slower than the two plans anyone would compare it with: rerun everything that
 * is needed and load nothing (rerun-all, minus the cells no variable needs) or save everything
 * serializable. Both are valid decisions; whichever predicts better under the objective, extra
 * loads included, is returned instead (ties keep the min-cut plan). So is the min-cut solved again
 * with the free groups it loads twice recomputed instead (repeated a few rounds): a group loaded
 * early and reloaded after a rerun that rebinds it is often cheaper to recompute with that rerun,
 * and the rest of the plan stays as the min-cut chose it. Only plans with extra loads are
 * compared: the others are optimal as they are (and planning stays linear).
 */
export function cheapestWholePlan(ctx: PlanningContext, minCut: ReplicationPlan, assemble: Assemble, recomputing: Recomputing): ReplicationPlan {
  // Without extra loads the plan's prediction is the min-cut's objective, which no valid plan beats.
  if (minCut.predicted.extraLoads === 0) return minCut;
  const { history: h, feasibility: f } = ctx;
  const groupCount = h.groupNames.length;
  const candidates: [PlanChoice, ReplicationPlan][] = [];
  if (!f.groupStatus.includes(GroupStatus.MustSerialize)) {
    candidates.push(['recompute-all', assemble(decideByClosure(h, f, new Uint8Array(groupCount).fill(1)))]);
  }
  const saveAll = Uint8Array.from(f.groupStatus, (s) => (s === GroupStatus.MustRecompute ? 1 : 0));
  candidates.push(['save-all', assemble(decideByClosure(h, f, saveAll))]);
  const forced = new Set<number>();
  let reloading = minCut;
  for (let round = 0; round < RELOAD_ROUNDS && reloading.predicted.extraLoads > 0; round++) {
    const before = forced.size;
    reloading.groups.forEach((g, i) => {
      if (g.loads > 1 && f.groupStatus[i] === GroupStatus.Free) forced.add(i);
    });
    if (forced.size === before) break;
    reloading = recomputing(forced);
    candidates.push(['min-cut-without-reloads', reloading]);
  }

  let best = minCut;
  for (const [choice, plan] of candidates) {
    if (!cheaper(plan, best, minCut.objective)) continue;
    best = {
      ...plan,
      solver: { ...plan.solver, chosen: choice },
      warnings: [
        ...plan.warnings,
        `${CHOICE_TEXT[choice]} ` +
          `is predicted to take ${formatMs(plan.predicted[metricOf(minCut.objective)])} against ${formatMs(minCut.predicted[metricOf(minCut.objective)])} ` +
          `for the min-cut plan, which loads groups again after reruns overwrite them (${minCut.predicted.extraLoads} extra loads)`,
      ],
    };
  }
  return best;
}

const CHOICE_TEXT: Record<PlanChoice, string> = {
  'min-cut': 'the min-cut plan',
  'min-cut-without-reloads': 'recomputing the groups it would load twice, and the min-cut for the rest,',
  'recompute-all': 'rerunning what is needed and loading nothing',
  'save-all': 'saving every serializable group',
};

function metricOf(objective: Objective): 'restoreMs' | 'migrationMs' {
  return objective === 'restore' ? 'restoreMs' : 'migrationMs';
}

/** Strictly better under the objective (bytes: fewer bytes, then a faster restore). */
function cheaper(a: ReplicationPlan, b: ReplicationPlan, objective: Objective): boolean {
  const eps = (x: number): number => 1e-9 * Math.max(1, Math.abs(x));
  if (objective === 'bytes') {
    if (a.predicted.bytes !== b.predicted.bytes) return a.predicted.bytes < b.predicted.bytes;
    return a.predicted.restoreMs < b.predicted.restoreMs - eps(b.predicted.restoreMs);
  }
  const m = metricOf(objective);
  return a.predicted[m] < b.predicted[m] - eps(b.predicted[m]);
}

