/**
 * @nbferry/planner: decides, per variable group, serialize or recompute so that migrating a
 * kernel's state is fastest and always correct, and emits the restore program. Pure: no I/O.
 */
export type {
  CellExecution,
  CostSettings,
  Objective,
  PlanningProblem,
  StoreCosts,
  VariableGroup,
} from './problem.js';
export type {
  GroupDecision,
  GroupPlan,
  PlanChoice,
  PlanDependencies,
  PlanPrediction,
  ReplicationPlan,
  RestoreStep,
  SolverStats,
  VariablePlan,
} from './replication-plan.js';
export { planReplication, type PlanOptions } from './plan.js';
export { keepingSplitsSafe, rebalanceSplits, splitFamilies, unsafeSplits } from './split-groups.js';
export { planWithDeadline, type DeadlineOptions, type DeadlinePlan } from './deadline.js';
export { renderPlanDot, renderPlanText } from './explain.js';
export { verifyPlan } from './verify.js';
export {
  DEFAULT_DESERIALIZE_BYTES_PER_SEC,
  DEFAULT_SERIALIZE_BYTES_PER_SEC,
  groupCost,
  rerunMs,
  type GroupCost,
} from './cost-model.js';
export { InvalidProblemError, NoValidPlanError, PlannerError, type UnplannableVariable } from './errors.js';
export type { MaxFlowAlgorithm } from './decide.js';
export { FlowNetworkBuilder, type FlowNetwork, type MinCut } from './flow-network.js';
export { maxFlowPushRelabel } from './push-relabel.js';
export { maxFlowDinic } from './dinic.js';
export { formatBytes, formatMs } from './format.js';
