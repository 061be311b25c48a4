import type { Objective } from './problem.js';

/** One step of the restore program, executed in order on the fresh kernel. */
export type RestoreStep =
  /**
   * Deserialize the group's record and bind `names` (all the group's names, or, for an early load
   * that later reruns partly overwrite, the subset safe to bind at that point).
   */
  | { kind: 'load'; group: string; names: string[] }
  /** Rerun this cell execution (its id). */
  | { kind: 'run'; cell: number };

export type GroupDecision = 'serialize' | 'recompute';

export interface GroupPlan {
  id: string;
  names: string[];
  decision: GroupDecision;
  /** One line on why. */
  reason: string;
  bytes: number;
  /** Predicted serialize + write time if serialized (0 otherwise). */
  checkpointMs: number;
  /** Predicted read + deserialize time per load (whether or not it is loaded). */
  loadMs: number;
  /** How many times the restore program loads it (0 if recomputed). */
  loads: number;
  /** For a recomputed group: the cells whose rerun produces its active versions. */
  producedBy: number[];
}

export interface VariablePlan {
  name: string;
  group: string;
  decision: GroupDecision;
  /** Cell that produced the active version, or null if it predates recording. */
  producedBy: number | null;
  /** How it comes back and why, one line. */
  reason: string;
}

export interface PlanPrediction {
  /** Serialize + write of every serialized group. */
  checkpointMs: number;
  /** Every load step of the program + every rerun (target speed applied). */
  restoreMs: number;
  /** checkpointMs + restoreMs. */
  migrationMs: number;
  /** Bytes written to the store. */
  bytes: number;
  /** Loads beyond one per serialized group, and their time (included in restoreMs). */
  extraLoads: number;
  extraLoadMs: number;
}

export interface ReplicationPlan {
  objective: Objective;
  /** Ids of the groups to serialize at checkpoint, in problem order. */
  serialize: string[];
  /** Ids of the cell executions to rerun, in session order. */
  rerun: number[];
  /** The restore program. */
  program: RestoreStep[];
  groups: GroupPlan[];
  variables: VariablePlan[];
  predicted: PlanPrediction;
  /** Things the user should know, e.g. a side-effect cell that had to be rerun. */
  warnings: string[];
  /** Names left bound by reruns that were not live at checkpoint; the restorer should delete them. */
  strayNames: string[];
  /** Why the reruns are connected, for drawing the plan (see explain.ts). */
  dependencies: PlanDependencies;
  solver: SolverStats;
}

export interface PlanDependencies {
  /** [prerequisite cell, cell]: the cell reads a version the prerequisite produces. */
  cellToCell: [number, number][];
  /** [serialized group, cell]: the rerun cell reads a variable loaded from the group. */
  groupToCell: [string, number][];
  /** [cell, recomputed group]: rerunning the cell produces the group's active versions. */
  cellToGroup: [number, string][];
}

export interface SolverStats {
  algorithm: string;
  /** Nodes and edges of the min-cut network (after shrinking; s and t included). */
  nodes: number;
  edges: number;
  cellsInHistory: number;
  /** Minimum cut value, in capacity units. */
  cutValue: number;
  /** Objective value of the plan in capacity units, fixed costs included (the cut minimizes it). */
  objectiveValue: number;
  /** Size of a capacity unit (1 µs, or µs-weighted bytes for the bytes objective, unless scaled). */
  quantum: number;
  /** Wall time spent building and solving the min-cut network (the only non-deterministic field). */
  solveMs: number;
  /**
   * Which plan was returned: the min-cut's, or a whole-state plan predicted to be faster once the
   * restore program's extra loads are counted (see whole-plan-check.ts). Absent: 'min-cut'.
   */
  chosen?: PlanChoice;
}

export type PlanChoice = 'min-cut' | 'min-cut-without-reloads' | 'recompute-all' | 'save-all';
