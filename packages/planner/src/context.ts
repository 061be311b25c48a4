import { costTable, type CostTable } from './cost-model.js';
import type { Decision } from './decide.js';
import { analyzeFeasibility, type Feasibility } from './feasibility.js';
import { analyzeHistory, type History } from './history.js';
import type { PlanningProblem } from './problem.js';
import { validateProblem } from './validate.js';

/** Everything derived from a problem once, shared by the objective solve and deadline mode. */
export interface PlanningContext {
  problem: PlanningProblem;
  history: History;
  feasibility: Feasibility;
  costs: CostTable;
}

/** Validates, compiles the history and applies the constraints; throws NoValidPlanError if nothing works. */
export function prepare(problem: PlanningProblem): PlanningContext {
  validateProblem(problem);
  const history = analyzeHistory(problem);
  const feasibility = analyzeFeasibility(problem, history);
  return {
    problem,
    history,
    feasibility,
    costs: costTable(problem),
  };
}

/** The cost model's view of a decision: one load per serialized group (what the min-cut sees). */
export interface ModelMetrics {
  checkpointMs: number;
  restoreMs: number;
  bytes: number;
}

export function modelMetrics(ctx: PlanningContext, d: Decision): ModelMetrics {
  let checkpointMs = 0;
  let restoreMs = 0;
  let bytes = 0;
  const { costs } = ctx;
  for (let g = 0; g < d.recompute.length; g++) {
    if (d.recompute[g]) {
      restoreMs += costs.verifyMs[g]!;
      continue;
    }
    checkpointMs += costs.checkpointMs[g]!;
    restoreMs += costs.loadMs[g]!;
    bytes += costs.bytes[g]!;
  }
  for (let c = 0; c < d.rerun.length; c++) if (d.rerun[c]) restoreMs += costs.rerunMs[c]!;
  return { checkpointMs, restoreMs, bytes };
}
