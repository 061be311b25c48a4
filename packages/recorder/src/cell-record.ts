/** What the shim reports for one cell execution (normalized from its msgpack record). */
export interface CellRecord {
  /** Position in the shim's history (from 1, no gaps; the shim may drop the oldest records). */
  seq: number;
  /**
   * `cell`: a user cell. `outside`: names changed between cells by code nobody recorded (silent
   * executes, another client's comm): unknown provenance. `load`: names bound from a checkpoint.
   */
  kind: 'cell' | 'outside' | 'load';
  executionCount: number | null;
  /** The notebook cell id, when the client sent one. */
  cellId: string | null;
  code: string;
  /** Epoch milliseconds at the start of the cell. */
  startedAt: number;
  runtimeMs: number;
  /** Time the shim's own hooks added to this cell (before and after it runs); 0 for non-cells. */
  recordingMs: number;
  /**
   * Time the shim's hooks spent on this cell itself: its hooks without the previous cell's check
   * they finished, plus its own check after the reply. What a rerun pays again when reruns run back
   * to back (nothing is idle between them). Absent in records from before it was reported.
   */
  rerunHooksMs?: number;
  success: boolean;
  /** Names whose prior value the cell may have used. */
  reads: string[];
  /** The cell may have read any name (eval, exec, globals()): `reads` is not exhaustive. */
  readsAll: boolean;
  /** Names the cell bound that did not exist before it. */
  created: string[];
  /** Names that existed and were rebound or mutated in place (through any alias). */
  modified: string[];
  /**
   * The part of `modified` that now names another object (`x = …`). Absent in records of
   * checkpoints written before it was kept: every modified name then counts as read.
   */
  rebound?: string[];
  deleted: string[];
  /** External effects seen by audit hooks (file writes, subprocesses, network), human-readable. */
  sideEffects: string[];
  /** Files the cell read: inputs a rerun needs on the target machine. */
  filesRead: string[];
  /** Only imports and configuration of what it imported: cheap to rerun where those packages are loaded. */
  importOnly: boolean;
  /** Randomness the recorded RNG state cannot reproduce (unseeded Generator, os.urandom, time). */
  nondeterministic: boolean;
}

/**
 * Names whose value before the cell the cell depends on: those it read, and those it changed in
 * place (a mutation starts from the old value). A name it only rebound without reading it (a
 * loop variable, `model = fit()`) does not tie it to the cell that bound the old value.
 */
export function priorReads(record: CellRecord): string[] {
  const rebound = new Set(record.rebound ?? []);
  return [...new Set([...record.reads, ...record.modified.filter((name) => !rebound.has(name))])];
}
