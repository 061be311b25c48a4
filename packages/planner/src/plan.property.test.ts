import { describe, expect, it } from 'vitest';
import { costTable, groupCost, objectiveCapacities, rerunMs } from './cost-model.js';
import { NoValidPlanError } from './errors.js';
import { planReplication } from './plan.js';
import type { PlanningProblem } from './problem.js';
import type { ReplicationPlan } from './replication-plan.js';
import { enumeratePlans, type EnumeratedPlan } from './testing/brute-force.js';
import { randomProblem } from './testing/random-problem.js';
import { Rng } from './testing/rng.js';
import { verifyPlan } from './verify.js';

const TRIALS = 1500;

function planCost(problem: PlanningProblem, p: EnumeratedPlan): number {
  const caps = objectiveCapacities(costTable(problem), problem.costs.objective);
  let cost = 0;
  p.serialized.forEach((s, g) => {
    cost += s ? caps.group[g]! : caps.groupRecompute[g]!;
  });
  for (const c of p.rerun) cost += caps.cell[c]!;
  return cost;
}

/** Restore time recomputed from the program itself: every load step + every rerun + verifying what was recomputed. */
function programRestoreMs(problem: PlanningProblem, plan: ReplicationPlan): number {
  const byId = new Map(problem.cells.map((c) => [c.id, c]));
  const groups = new Map(problem.groups.map((g) => [g.id, g]));
  let ms = 0;
  for (const g of plan.groups) if (g.decision === 'recompute') ms += groupCost(groups.get(g.id)!, problem.costs).verifyMs;
  for (const step of plan.program) {
    ms +=
      step.kind === 'run'
        ? rerunMs(byId.get(step.cell)!, problem.costs)
        : groupCost(groups.get(step.group)!, problem.costs).loadMs;
  }
  return ms;
}

describe('planReplication on random small sessions (property tests against brute force)', () => {
  it.each([
    { seed: 2024, groupedShare: 0.4 },
    { seed: 7, groupedShare: 0.9 },
  ])('finds the brute-force optimum, a canonical plan and an executable program (seed $seed, shared groups $groupedShare)', ({ seed, groupedShare }) => {
    const rng = new Rng(seed);
    let planned = 0;
    let unplannable = 0;
    let withExtraLoads = 0;
    let switched = 0;
    for (let trial = 0; trial < TRIALS; trial++) {
      const problem = randomProblem(rng, 10, groupedShare);
      const valid = enumeratePlans(problem);
      const context = `trial ${trial}: ${JSON.stringify(problem)}`;
      if (valid.length === 0) {
        expect(() => planReplication(problem), context).toThrow(NoValidPlanError);
        try {
          planReplication(problem);
        } catch (error) {
          // Only unserializable variables can be impossible to bring back.
          const unserializable = new Set(problem.groups.filter((g) => !g.serializable).map((g) => g.id));
          for (const v of (error as NoValidPlanError).variables) expect(unserializable.has(v.group), context).toBe(true);
        }
        unplannable++;
        continue;
      }
      const plan = planReplication(problem, { wholePlanCheck: false });
      planned++;
      const costs = valid.map((p) => planCost(problem, p));
      const best = Math.min(...costs);
      expect(plan.solver.objectiveValue, context).toBe(best);
      expect(verifyPlan(problem, plan), context).toEqual([]);
      expect(plan.predicted.restoreMs, context).toBeCloseTo(programRestoreMs(problem, plan), 9);
      if (plan.predicted.extraLoads > 0) withExtraLoads++;

      // Canonical cut: what the plan recomputes is recomputed by every optimal plan.
      const recomputed = plan.groups.filter((g) => g.decision === 'recompute').map((g) => g.id);
      valid.forEach((p, k) => {
        if (costs[k] !== best) return;
        for (const id of recomputed) {
          expect(p.serialized[problem.groups.findIndex((g) => g.id === id)], context).toBe(false);
        }
      });

      const oracle = planReplication(problem, { algorithm: 'dinic', wholePlanCheck: false });
      expect(oracle.serialize, context).toEqual(plan.serialize);
      expect(oracle.rerun, context).toEqual(plan.rerun);

      // The whole-plan check returns a valid plan never predicted slower than the min-cut's, nor
      // than rerunning what is needed (when nothing must be saved) or saving everything.
      const checked = planReplication(problem);
      expect(verifyPlan(problem, checked), context).toEqual([]);
      expect(checked.predicted.restoreMs, context).toBeCloseTo(programRestoreMs(problem, checked), 9);
      const metric = (p: ReplicationPlan): number =>
        problem.costs.objective === 'restore' ? p.predicted.restoreMs : problem.costs.objective === 'migration' ? p.predicted.migrationMs : p.predicted.bytes;
      expect(metric(checked), context).toBeLessThanOrEqual(metric(plan) + 1e-6);
      // Rerunning what is needed and loading nothing: its restore time is its reruns' and verifying everything (brute force).
      const loadNothing = valid.find((p) => p.serialized.every((s) => !s));
      if (loadNothing && problem.costs.objective !== 'bytes') {
        const verify = problem.groups.reduce((sum, g) => sum + groupCost(g, problem.costs).verifyMs, 0);
        const ms = [...loadNothing.rerun].reduce((sum, c) => sum + rerunMs(problem.cells[c]!, problem.costs), verify);
        expect(metric(checked), context).toBeLessThanOrEqual(ms + 1e-6);
      }
      if (checked.solver.chosen && checked.solver.chosen !== 'min-cut') switched++;
    }
    // The generator must exercise both outcomes and the reload path, or the test proves little.
    expect(planned).toBeGreaterThan(TRIALS / 2);
    expect(unplannable).toBeGreaterThan(10);
    expect(withExtraLoads).toBeGreaterThanOrEqual(5);
    expect(switched).toBeGreaterThanOrEqual(1);
  });
});
