import { modelMetrics, prepare, type ModelMetrics, type PlanningContext } from './context.js';
import { lagrangianCapacities } from './cost-model.js';
import { decideByClosure, decideByMinCut, type Decision } from './decide.js';
import { GroupStatus } from './feasibility.js';
import { assemblePlan, type PlanOptions } from './plan.js';
import type { PlanningProblem } from './problem.js';
import type { ReplicationPlan } from './replication-plan.js';

export interface DeadlineOptions extends PlanOptions {
  /** Time available for the checkpoint (serialize + write), ms: e.g. 30 000 for a spot eviction notice. */
  checkpointBudgetMs: number;
  /** Bisection steps on λ after bracketing. Default 30. */
  maxIterations?: number;
}

export interface DeadlinePlan {
  /** The chosen plan (objective 'restore'): the fastest restore found whose checkpoint fits, or the best effort. */
  plan: ReplicationPlan;
  /** Whether the plan's checkpoint fits the budget. False: no plan fits, and `plan` has the fastest checkpoint. */
  fits: boolean;
  budgetMs: number;
  /** λ of the chosen plan (0: the unconstrained restore optimum; Infinity: the minimum-checkpoint plan). */
  lambda: number;
  /** Cost-model checkpoint and restore times of the chosen plan (one load per serialized group). */
  checkpointMs: number;
  restoreMs: number;
  /** Lagrangian lower bound on the restore time of any plan that fits (model terms); null if none fits. */
  lowerBoundRestoreMs: number | null;
  /** restoreMs − lowerBoundRestoreMs: an upper bound on how far the plan is from the constrained optimum. */
  gapMs: number | null;
  /** Min-cuts solved. */
  solves: number;
}

/**
 * Deadline mode: minimize restore time subject to checkpoint time ≤ budget.
 *
 * This is a knapsack-like constrained cut problem (NP-hard in general), solved by Lagrangian
 * relaxation: for a multiplier λ ≥ 0, the min-cut of restore + λ·checkpoint gives the plan P(λ).
 * Checkpoint time of P(λ) is non-increasing in λ (the cuts are nested as λ grows), so we bracket
 * the smallest λ whose plan fits by doubling, then bisect on λ and keep the fitting plan with the
 * fastest restore. Every solve also yields the dual bound
 *   L(λ) = restore(P(λ)) + λ·(checkpoint(P(λ)) − budget) ≤ restore of any fitting plan,
 * so the reported gap (best restore − max L) bounds the distance to the true constrained optimum.
 *
 * Optimality: exact when the unconstrained optimum fits (λ = 0, gap 0). Otherwise the method finds
 * the best plan on the lower convex hull of the (checkpoint, restore) trade-off; a fitting plan
 * that lies above the hull between two breakpoints can be missed, and the gap says by how much at
 * most. Capacities are rounded to 1 µs per node, so bounds hold up to that rounding.
 *
 * When even the minimum-checkpoint plan (serialize only what cannot be recomputed) exceeds the
 * budget, no plan fits: the result says so (`fits: false`) and returns that plan as the best effort.
 */
export function planWithDeadline(problem: PlanningProblem, options: DeadlineOptions): DeadlinePlan {
  const budget = options.checkpointBudgetMs;
  if (!(budget >= 0) || !Number.isFinite(budget)) {
    throw new RangeError(`checkpointBudgetMs must be finite and >= 0: ${budget}`);
  }
  const ctx = prepare(problem);
  const algorithm = options.algorithm ?? 'push-relabel';
  let solves = 0;
  const solve = (lambda: number): { d: Decision; m: ModelMetrics } => {
    solves++;
    const d = decideByMinCut(ctx.history, ctx.feasibility, lagrangianCapacities(ctx.costs, lambda), algorithm);
    return { d, m: modelMetrics(ctx, d) };
  };
  const finish = (
    d: Decision,
    m: ModelMetrics,
    lambda: number,
    fits: boolean,
    lowerBound: number | null,
  ): DeadlinePlan => ({
    plan: assemblePlan(ctx, d, 'restore', lagrangianCapacities(ctx.costs, Number.isFinite(lambda) ? lambda : 0), algorithm),
    fits,
    budgetMs: budget,
    lambda,
    checkpointMs: m.checkpointMs,
    restoreMs: m.restoreMs,
    lowerBoundRestoreMs: lowerBound,
    gapMs: lowerBound === null ? null : Math.max(0, m.restoreMs - lowerBound),
    solves,
  });

  const unconstrained = solve(0);
  if (unconstrained.m.checkpointMs <= budget) {
    return finish(unconstrained.d, unconstrained.m, 0, true, unconstrained.m.restoreMs);
  }

  const fastest = minimumCheckpoint(ctx);
  if (fastest.m.checkpointMs > budget) return finish(fastest.d, fastest.m, Number.POSITIVE_INFINITY, false, null);

  // L(0) is the unconstrained optimum: a valid bound too.
  let lowerBound = unconstrained.m.restoreMs;
  let best = { ...fastest, lambda: Number.POSITIVE_INFINITY };
  const consider = (lambda: number, r: { d: Decision; m: ModelMetrics }): boolean => {
    lowerBound = Math.max(lowerBound, r.m.restoreMs + lambda * (r.m.checkpointMs - budget));
    const fits = r.m.checkpointMs <= budget;
    if (fits && r.m.restoreMs < best.m.restoreMs) best = { ...r, lambda };
    return fits;
  };

  let lo = 0;
  let hi = 1;
  for (let k = 0; k < 64 && !consider(hi, solve(hi)); k++) {
    lo = hi;
    hi *= 2;
  }
  const iterations = options.maxIterations ?? 30;
  for (let k = 0; k < iterations && hi - lo > 1e-9 * hi; k++) {
    const mid = (lo + hi) / 2;
    if (consider(mid, solve(mid))) hi = mid;
    else lo = mid;
    if (best.m.restoreMs - lowerBound <= 1e-9 * best.m.restoreMs) break;
  }
  return finish(best.d, best.m, best.lambda, true, Math.min(lowerBound, best.m.restoreMs));
}

/** Serialize only what cannot be recomputed: the least checkpoint time any plan can have. */
function minimumCheckpoint(ctx: PlanningContext): { d: Decision; m: ModelMetrics } {
  const recompute = Uint8Array.from(ctx.feasibility.groupStatus, (s) => (s === GroupStatus.MustSerialize ? 0 : 1));
  const d = decideByClosure(ctx.history, ctx.feasibility, recompute);
  return { d, m: modelMetrics(ctx, d) };
}
