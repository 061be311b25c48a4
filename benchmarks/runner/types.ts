/** The benchmark's data model: one trial per notebook, repeat and method; summaries over repeats. */

export const METHODS = ['nbferry', 'nbferry-precopy', 'rerun-all', 'dill', 'pickle-all', 'kishu', 'elasticnotebook'] as const;
export type MethodName = (typeof METHODS)[number];

export const SIZES = ['small', 'medium', 'large'] as const;
export type DataSize = (typeof SIZES)[number];

/** Per variable of the source: how it came out in the target. */
export interface Fidelity {
  /** Every user variable of the source kernel after its run. */
  total: number;
  /**
   * The variables whose outcome can be judged: those the source could fingerprint, plus any it
   * could not (figures, generators, open files) that did not come back at all (a loss needs no
   * fingerprint to be seen). Fidelity is equal / verifiable; for every method alike.
   */
  verifiable: number;
  /** Present in the target with the same content fingerprint. */
  equal: number;
  /** Present with a different fingerprint. */
  different: number;
  /** Present, but one side could not fingerprint its content: equality unknown (not counted equal). */
  unverifiable: number;
  /** Absent from the target. */
  lost: number;
  /** A few of the variables that were not equal, with what happened to them. */
  examples: string[];
}

/** What instrumenting a kernel costs: a recorded run against an unrecorded run of the same notebook. */
export interface Overhead {
  /** Wall time of all cells, instrumented. */
  recordedCellMs: number;
  /** Wall time of all cells in the unrecorded run of the same repeat. */
  unrecordedCellMs: number;
  /** Attaching the instrument before the first cell (not part of the cell time). */
  attachMs: number;
  /** What the instrument's own hooks measured they added to the cells (nbferry: the shim's pre/post time). */
  hookMs?: number;
  /** Peak resident memory (VmHWM) of the source kernel after its last cell, in MiB. */
  recordedPeakRssMiB: number | null;
  unrecordedPeakRssMiB: number | null;
}

export type TrialStatus =
  /** The migration ran; fidelity says how much came back. */
  | 'ok'
  /** The method raised, timed out or lost the session; `failure` says why. */
  | 'failed'
  /** The method cannot run here (not installed, not installable); `failure` says why. */
  | 'unavailable'
  /** The method was not asked for, or needs something the user did not give. */
  | 'not-run';

export interface MethodTrial {
  method: MethodName;
  status: TrialStatus;
  failure?: string;
  /** Saving the state in the source kernel. */
  checkpointMs: number | null;
  /** From the end of the checkpoint to the state being usable in a fresh kernel, kernel start included where it is not hidden. */
  restoreMs: number | null;
  /** Checkpoint + restore, as a user waits for it. */
  migrationMs: number | null;
  /** Bytes the checkpoint put on disk. */
  bytes: number | null;
  fidelity: Fidelity | null;
  /**
   * Migration time given a pre-started kernel (the pooled case): started, with the pooled modules
   * (poolModules) imported, before the migration began; the same kind of kernel for every method.
   */
  pooledMs?: number;
  /**
   * nbferry-precopy: migration into a standby kernel (pre-started like the pooled one) that followed
   * the source's auto-checkpoints while the notebook ran (Standby): the last checkpoint and the catch-up.
   */
  standbyMs?: number;
  /** nbferry: where the migration's time went (ms), so the next bottleneck is visible. */
  breakdown?: MigrationBreakdown;
  /** Only for methods that instrument the source kernel (nbferry, kishu, elasticnotebook). */
  overhead?: Overhead;
  notes: string[];
}

export interface MigrationBreakdown {
  /** The source's checkpoint (measure, plan, save, commit). */
  checkpointMs: number;
  /** The target not ready yet when its work could begin (after the source planned). */
  waitTargetMs: number;
  /**
   * From launching the target to its being ready (started, shim in, the source's modules
   * imported): no migration into a fresh kernel ends sooner. Absent in older reports.
   */
  targetReadyMs?: number;
  /** Loads in the target (they overlap the checkpoint's save: pipelined). */
  loadMs: number;
  rerunMs: number;
  verifyMs: number;
  /** Bytes the migration wrote / found already stored (pre-copy). */
  writtenBytes: number;
  precopiedBytes: number;
}

export interface NotebookTrial {
  notebook: string;
  repeat: number;
  /** The unrecorded source run: kernel start and all cells. */
  unrecorded: { kernelStartMs: number; cellMs: number; peakRssMiB: number | null; failure?: string };
  methods: MethodTrial[];
}

/** Median and range over repeats (only over repeats where the value exists). */
export interface Spread {
  median: number;
  min: number;
  max: number;
  n: number;
}

export interface MethodSummary {
  method: MethodName;
  /** Status of each repeat, in order. */
  statuses: TrialStatus[];
  failures: string[];
  checkpointMs: Spread | null;
  restoreMs: Spread | null;
  migrationMs: Spread | null;
  /** With a pre-started kernel (MethodTrial.pooledMs). */
  pooledMs?: Spread | null;
  /** Into a standby that followed the auto-checkpoints (MethodTrial.standbyMs). */
  standbyMs?: Spread | null;
  bytes: Spread | null;
  /** equal / total, per repeat. */
  fidelity: Spread | null;
  /** Worst repeat's fidelity counts (the one with the fewest equal variables). */
  worstFidelity: Fidelity | null;
  /** (recorded - unrecorded) / unrecorded cell time, in percent. */
  runtimeOverheadPct: Spread | null;
  /** The instrument's own hook time / (recorded cell time - hook time), in percent: no run-to-run noise. */
  hookOverheadPct?: Spread | null;
  memoryOverheadPct: Spread | null;
  notes: string[];
}

export interface NotebookSummary {
  notebook: string;
  dataset: string | null;
  /** As the corpus manifest declares it (null when the corpus has no manifest entry). */
  declaredDeterministic: boolean | null;
  unrecordedCellMs: Spread | null;
  methods: MethodSummary[];
}
