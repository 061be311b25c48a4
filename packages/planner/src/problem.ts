/**
 * The planner's input: what the recorder knows about a session at checkpoint time.
 *
 * ## Model (for whoever maps the history graph onto it)
 *
 * `cells` lists cell *executions* in session order (the same cell run twice is two entries). Each one
 * says which user-namespace names it read, wrote and deleted. Variable *versions* are implicit: a
 * version of name `n` is identified by the execution that produced it, and a read of `n` in cell `c`
 * refers to the latest write of `n` before `c`. So:
 *
 * - `reads` must include every name whose value the cell may have used (over-approximation is safe,
 *   it only costs planning quality). A name the cell **modified in place** (`x.append(1)`,
 *   `df['a'] += 1`) must appear in both `reads` and `writes`: the cell needed its prior version. A
 *   plain rebinding (`x = 1`) is only a write. A read of a name that had been deleted (`del x`)
 *   earlier in the history is ignored (the cell could not really have read it).
 * - `writes` lists names created, rebound or modified (net effect of the cell). If two names share
 *   an object and the cell mutates it, both are written.
 * - `deletes` lists names the cell removed. If a name is in both `writes` and `deletes`, the delete
 *   wins (the name did not exist after the cell).
 * - A name read before any recorded write existed before recording began (unknown provenance): its
 *   version is produced by a pseudo-writer that can never be rerun.
 *
 * `groups` partitions the **active** variables (the names live in the namespace at checkpoint) into
 * shared-reference groups: names whose objects share memory (aliases, numpy views, pandas blocks)
 * must be saved in one record and restored together, or recomputed together. The groups define the
 * active set: a name in no group is not restored. The active version of a name is its last write
 * in `cells`; if it was never written, or its last event is a delete (it was re-created outside the
 * recorded history), it has unknown provenance and must be serialized.
 *
 * What a rerun needs: a rerun cell `c` needs, for every name it reads, the version that was current
 * before `c` originally ran. That version is available if it is the active version of a serialized
 * group (load it first) or if its writer is rerun earlier. Rerunning a cell rebinds everything it
 * writes, so the restore program may have to (re)load a group after reruns that clobber it.
 *
 * Which cells can be rerun:
 * - `success: false` or `replayable: false` cells are never rerun (a failed cell would fail again,
 *   and its partial writes are not reliably reproduced). Nor is a cell that needs a version nothing
 *   can reproduce (a non-active value of unknown provenance, or one produced by such a cell).
 * - `sideEffects` / `nondeterministic` cells are rerun only when nothing else can reproduce a
 *   needed variable (an unserializable variable depends on them); the plan then warns.
 */
export interface CellExecution {
  /** Unique id, e.g. the execution count. Used in plans and messages. */
  id: number;
  /** Recorded wall-clock runtime on the source machine, in milliseconds. */
  runtimeMs: number;
  /** Names whose prior version the cell may have used (including names it modified in place). */
  reads: readonly string[];
  /** Names created, rebound or modified by the cell. */
  writes: readonly string[];
  /** Names removed by the cell. */
  deletes: readonly string[];
  /** False if the cell raised. Failed cells are never rerun. */
  success: boolean;
  /** The cell touched the outside world (files, network, subprocesses; printing does not count). */
  sideEffects: boolean;
  /** The cell used irreproducible randomness (unseeded RNG whose state was not recorded, time...). */
  nondeterministic: boolean;
  /** False if the cell cannot be replayed for another reason (e.g. its source is unavailable). Default true. */
  replayable?: boolean;
  /** Short human label for explanations (first line of the source, cell number...). */
  label?: string;
}

export interface VariableGroup {
  /** Unique id of the group (e.g. the sorted names joined, or a counter). */
  id: string;
  /** Active names in the group. Each active name is in exactly one group. */
  names: readonly string[];
  /** False if the group cannot be serialized; it is then always recomputed. */
  serializable: boolean;
  /** Why it is unserializable (e.g. "generator object"). Shown in plans and errors. */
  reason?: string;
  /** Serialized size in bytes (measured, or estimated). */
  bytes: number;
  /** Time to serialize the group into bytes in memory, excluding the store write (measured by the shim). */
  serializeMs?: number;
  /** Time to deserialize the group from bytes in memory, excluding the store read (measured by the shim). */
  loadMs?: number;
  /**
   * Time to fingerprint the group's values (measured by the shim): what verifying them costs when
   * they are recomputed, paid by the restore. An intact load is proven by its checksum instead.
   * Default 0.
   */
  verifyMs?: number;
  /**
   * Set on both halves of a measured group split in two: the members that can be saved, and those
   * that cannot (a generator, a lock) and must be recomputed. Same value (the measured group's id)
   * on both. The halves share objects, so loading one and recomputing the other keeps identity only
   * if no rerun rebinds a name of the loaded half (split-groups.ts); a plan that would is made
   * again with the halves merged back into one unserializable group.
   */
  splitOf?: string;
  /**
   * Already in the store, unchanged (an incremental checkpoint reuses the previous checkpoint's
   * blob): checkpointing it costs nothing and writes no bytes, so plans shift toward loading it.
   */
  stored?: boolean;
}

/** What the caller wants the plan to minimize. */
export type Objective =
  /** Time to bring the target kernel back: group loads + reruns. */
  | 'restore'
  /** Checkpoint (serialize + write) + restore. */
  | 'migration'
  /** Bytes written to the store; ties broken by restore time. */
  | 'bytes';

export interface StoreCosts {
  /** Sustained write bandwidth of the checkpoint store, bytes per second. */
  writeBytesPerSec: number;
  /** Sustained read bandwidth of the checkpoint store, bytes per second. */
  readBytesPerSec: number;
  /** Per-record latency (one per group written or read), milliseconds. */
  latencyMs: number;
}

export interface CostSettings {
  /**
   * Speed of the target machine relative to the source for re-executing cells: a rerun is predicted
   * to take `runtimeMs / targetSpeedFactor` (2 = twice as fast, 0.5 = twice as slow).
   */
  targetSpeedFactor: number;
  store: StoreCosts;
  objective: Objective;
  /** Serialization throughput used when a group has no measured `serializeMs`. Default 400 MB/s. */
  serializeBytesPerSec?: number;
  /** Deserialization throughput used when a group has no measured `loadMs`. Default 800 MB/s. */
  deserializeBytesPerSec?: number;
}

export interface PlanningProblem {
  /** Cell executions in session order. */
  cells: readonly CellExecution[];
  /** The active variables, partitioned into shared-reference groups. */
  groups: readonly VariableGroup[];
  costs: CostSettings;
}
