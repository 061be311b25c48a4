/** What nbferry keeps in a checkpoint's manifest besides the blob list (the store's `body`). */
import type { PlanningProblem, ReplicationPlan } from '@nbferry/planner';
import type { HistoryGraphJson } from '@nbferry/recorder';

export interface CheckpointBody {
  history: HistoryGraphJson;
  /** The problem as planned, so a restore can re-plan around a blob that fails to load. */
  problem: PlanningProblem;
  plan: ReplicationPlan;
  /**
   * Content fingerprints at checkpoint time (null: could not be fingerprinted). `faithful`: names
   * an intact load reproduces exactly (see MeasuredVariable.faithful); a restore that loads them
   * last does not fingerprint them again. Absent in older checkpoints: everything is fingerprinted.
   */
  fingerprints: { algo: string; values: Record<string, string | null>; faithful?: string[] };
  /** Variables no plan could bring back (unserializable and not recomputable), with why. */
  unrecoverable: { name: string; reason: string }[];
  /**
   * Global RNG states before each rerun cell, so reruns draw the same numbers; `env`: the
   * environment variables the cell looked up (python-shim envreads.py), set for its rerun only.
   */
  rng: { seq: number; python?: Uint8Array; numpy?: Uint8Array; env?: Uint8Array }[];
  /** The source kernel's working directory (reruns may read relative paths). */
  cwd: string;
  timings: CheckpointTimings;
}

export interface CheckpointTimings {
  syncMs: number;
  measureMs: number;
  planMs: number;
  saveMs: number;
  commitMs: number;
  totalMs: number;
}
