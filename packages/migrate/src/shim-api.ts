/**
 * Typed calls to the shim's checkpoint operations (python-shim/PROTOCOL.md). Thin: each is one
 * comm request; the meaning lives in the shim and in the callers.
 */
import type { CallOptions } from '@nbferry/kernel';
import type { Recorder, ShimCallOptions } from '@nbferry/recorder';
import { CheckpointPreemptedError, StateChangedError } from './errors.js';

export interface MeasuredVariable {
  type: string;
  module: string;
  fingerprint: string | null;
  reliable: boolean;
  /** Seconds the shim took to fingerprint it (what verifying it costs once it is recomputed). Absent from older shims. */
  fingerprintSec?: number;
  /**
   * An intact load of it (checksum matched, unpickled) rebuilds exactly this value: its types
   * pickle faithfully (the shim's faithful.py). Absent from older shims: treated as false.
   */
  faithful?: boolean;
  provenance: string;
  group: number;
}

/** Size and speed of pickling a set of names as one record. */
export interface PickleCost {
  bytes: number;
  dumpSec: number;
  loadSecEst: number;
  estimate: string | null;
}

export type MeasuredGroup = { id: number; names: string[]; /** Taken from the previous measurement (MeasureSince), not pickled again. */ reused?: boolean } & (
  | ({ serializable: true } & PickleCost)
  | {
      serializable: false;
      reason: string;
      /**
       * The members that pickle on their own, measured together (absent when none or an older
       * shim): saved apart from the others, which are recomputed (the planner's split groups).
       */
      saveable?: { names: string[] } & PickleCost;
    }
);

export interface Measurement {
  algo: string;
  pickler: string;
  variables: Record<string, MeasuredVariable>;
  groups: MeasuredGroup[];
  seconds: number;
  /** The shim's last history record when measured: saves check that nothing ran since. */
  seq?: number;
  /** The shim's count of code run outside recorded cells as measured (lineage.ts LineagePoint.unobserved). */
  unobserved?: number;
  /** Measured on a background lane: the cell generation it started from (SaveGuard.generation). */
  generation?: number;
}

/**
 * Measure only what changed: `previous` (a measurement of this kernel at history record
 * `previous.seq`) is reused for every name not in `changed` and every group with none of them and
 * the same members. `since` is the last history record the caller saw: if the shim's history moved
 * past it (a change outside cells found at measure time), the shim measures everything.
 */
export interface MeasureSince {
  previous: Measurement;
  changed: string[];
  since: number;
}

export interface SavedBlob {
  names: string[];
  ok: boolean;
  file?: string;
  bytes?: number;
  sha256?: string;
  /** `<algorithm>:<hex>` when the shim uses another checksum than SHA-256. */
  checksum?: string;
  /** Format 2 (`save` with `chunks`): the blob's chunk digests, in order. */
  chunks?: string[];
  /** Format 3: each chunk's size (the kernel cuts chunks where content puts boundaries). */
  chunkBytes?: number[];
  /** Format 2: bytes of those chunks that were not in the store yet (the rest were already there). */
  newBytes?: number;
  /** For save_buffers: [first buffer index, count]. */
  buffers?: [number, number];
  /** `kind: 'write'`: the store failed (errno set when known), not the value. */
  error?: { kind: string; message: string; errno?: string };
  seconds: number;
}

/** What a save checks before and while writing. */
export interface SaveGuard {
  /** Measured state (Measurement.seq): nothing is saved if a cell ran since. */
  seq?: number;
  /** On a background lane (Measurement.generation): the save stops if a cell started since. */
  generation?: number;
  /** The coordinator: the kernel stops writing if this process is gone (same host only). */
  owner?: { pid: number; host: string; startTicks?: number | null };
}

export type LoadSpec = {
  file?: string;
  /** Format 2: the blob's chunks, read from the load's `chunksDir`. */
  chunks?: string[];
  /** Format 3: the chunks' sizes (also needed to check a `sha256-chunks` blob sent in buffers or staged). */
  chunkBytes?: number[];
  buffers?: [number, number];
  /** The bytes staged in the target under this key (stage_chunk, stage_stored_chunks). */
  staged?: string;
  bytes: number;
  /** All names the blob holds (checked). */
  names: string[];
  /** The subset to bind in the namespace (default: all). */
  bind?: string[];
} & ({ sha256: string } | { checksum: string });

export interface LoadResult {
  file?: string;
  ok: boolean;
  names?: string[];
  error?: { kind: string; message: string };
  seconds: number;
}

export interface Fingerprint {
  digest: string | null;
  reliable: boolean;
  error: string | null;
}

/** With `subshellId` (a background lane), a cell starting meanwhile throws CheckpointPreemptedError. */
export async function measure(recorder: Recorder, options: ShimCallOptions & { budgetSec?: number; since?: MeasureSince } = {}): Promise<Measurement> {
  const since = options.since ? { previous: options.since.previous, changed: options.since.changed, since: options.since.since } : {};
  const { result } = await recorder.request<Measurement & Preemptible>('measure', { budgetSec: options.budgetSec ?? 2, ...since }, options);
  throwIfPreempted(recorder, result);
  return result;
}

/** A background lane's answer when a cell started during the operation (lane.py). */
interface Preemptible {
  preempted?: { generation: number; now: number };
}

function throwIfPreempted(recorder: Recorder, reply: Preemptible): void {
  if (reply.preempted) throw new CheckpointPreemptedError(recorder.graph.lastSeq);
}

interface SaveReply extends Preemptible {
  blobs: SavedBlob[];
  moved?: { expected: number; seq: number };
}

/**
 * The kernel writes each group's blob into `dir` itself (temp file, fsync, rename), or with
 * `chunksDir` (format 2) its content-addressed chunks there, skipping those already stored. Throws
 * StateChangedError (nothing written) if the guard's `seq` is no longer the kernel's state.
 */
export async function saveToDir(
  recorder: Recorder,
  groups: string[][],
  dir: string,
  options: ShimCallOptions = {},
  guard: SaveGuard = {},
  chunksDir?: string,
  /**
   * One save of several (a pipelined checkpoint saves a group per request): `progressFrom`, the bytes
   * earlier requests saved (the `progress` events count on from there); `streamChunksOver` (with
   * `chunksDir`), blobs of at least this many bytes push their chunks as each is stored (`savedChunks` events).
   */
  part: { progressFrom?: number; streamChunksOver?: number } = {},
): Promise<SavedBlob[]> {
  // `progress`: the shim pushes `progress` events (op "save", bytes stored) while it writes.
  const args = chunksDir === undefined ? { groups, dir, progress: true, ...guard, ...part } : { groups, dir, chunks: chunksDir, progress: true, ...guard, ...part };
  const { result } = await recorder.request<SaveReply>('save', args, options);
  throwIfPreempted(recorder, result);
  throwIfMoved(result);
  return result.blobs;
}

/** The kernel returns each group's blob as comm buffers (live migration, no disk). */
export async function saveToBuffers(
  recorder: Recorder,
  groups: string[][],
  options: CallOptions = {},
  guard: SaveGuard = {},
): Promise<{ blobs: SavedBlob[]; buffers: Uint8Array[] }> {
  const args = guard.seq === undefined ? { groups } : { groups, seq: guard.seq };
  const { result, buffers } = await recorder.request<SaveReply>('save_buffers', args, options);
  throwIfMoved(result);
  return { blobs: result.blobs, buffers };
}

function throwIfMoved(reply: SaveReply): void {
  if (reply.moved) throw new StateChangedError(reply.moved.expected, reply.moved.seq);
}

export async function load(
  recorder: Recorder,
  blobs: LoadSpec[],
  options: CallOptions & { dir?: string; chunksDir?: string; buffers?: Uint8Array[]; progress?: boolean } = {},
): Promise<LoadResult[]> {
  // `progress`: the shim pushes `progress` events (bytes read) while it reads.
  const args = {
    blobs,
    ...(options.dir === undefined ? {} : { dir: options.dir }),
    ...(options.chunksDir === undefined ? {} : { chunksDir: options.chunksDir }),
    ...(options.progress ? { progress: true } : {}),
  };
  const { result } = await recorder.request<{ results: LoadResult[] }>('load', args, options);
  return result.results;
}

/**
 * Starts loading blobs (from files or chunks) on a worker thread in the kernel and returns at once
 * (background.py); each group's result arrives as a `backgroundLoad` event of the recorder. Refused
 * (`started: false`, why per blob) when a blob's files are not all there: nothing started then.
 */
export async function loadBackground(
  recorder: Recorder,
  /** `verify`: the names to fingerprint once loaded (default all); `after`: the reruns it unpickles after. */
  blobs: (LoadSpec & { verify?: string[]; after?: number })[],
  /** `reruns`: the restore's reruns to run after the hand-over (deferred-reruns.ts), queued before the loads start. */
  options: CallOptions & { dir: string; chunksDir?: string; algo: string; reruns?: object },
): Promise<{ started: boolean; problems?: (string | null)[]; names?: string[] }> {
  const args = {
    blobs,
    dir: options.dir,
    algo: options.algo,
    ...(options.chunksDir === undefined ? {} : { chunksDir: options.chunksDir }),
    ...(options.reruns === undefined ? {} : { reruns: options.reruns }),
  };
  const { result } = await recorder.request<{ started: boolean; problems?: (string | null)[]; names?: string[] }>('load_background', args, options);
  return result;
}

/** What a rerun of cell `seq` must see: the global RNG states, and the environment values it looked up (python-shim envreads.py). */
export interface RngState {
  seq: number;
  python?: Uint8Array;
  numpy?: Uint8Array;
  env?: Uint8Array;
}

/** The saved states of `state`, without its seq (the shim's `set_rng` arguments). */
export function savedStates(state: RngState): Omit<RngState, 'seq'> {
  return {
    ...(state.python ? { python: state.python } : {}),
    ...(state.numpy ? { numpy: state.numpy } : {}),
    ...(state.env ? { env: state.env } : {}),
  };
}

export async function rngStates(recorder: Recorder, seqs: number[], options: ShimCallOptions = {}): Promise<RngState[]> {
  const { result } = await recorder.request<{ states: RngState[] }>('rng_state', { seqs }, options);
  return result.states;
}

/**
 * Sets the states a rerun must see. Returns the environment values to set again once the cell has
 * run (the kernel keeps its own environment), or undefined when `state` sets none.
 */
export async function setRng(recorder: Recorder, state: RngState, options: CallOptions = {}): Promise<RngState | undefined> {
  const { result } = await recorder.request<{ undo?: { env?: Uint8Array } }>('set_rng', savedStates(state), options);
  return result.undo?.env ? { seq: state.seq, env: result.undo.env } : undefined;
}

/** Binds a placeholder to each of `bind` not bound (python-shim absent.py), removes those in `clear` still holding one; the names bound. */
export async function placeholders(recorder: Recorder, args: { bind?: readonly string[]; clear?: readonly string[] }, options: CallOptions = {}): Promise<string[]> {
  const { result } = await recorder.request<{ bound: string[] }>('placeholders', args, options);
  return result.bound;
}

export async function fingerprints(
  recorder: Recorder,
  names: string[] | undefined,
  algo: string,
  options: CallOptions = {},
): Promise<Record<string, Fingerprint>> {
  const { result } = await recorder.request<{ fingerprints: Record<string, Fingerprint> }>(
    'fingerprint',
    names === undefined ? { algo } : { names, algo },
    options,
  );
  return result.fingerprints;
}

/** Per family of names: whether they share objects as one group in this kernel (null: a name is not bound). */
export async function sharedFamilies(recorder: Recorder, families: string[][], options: CallOptions = {}): Promise<(boolean | null)[]> {
  const { result } = await recorder.request<{ connected: (boolean | null)[] }>('sharing', { families }, options);
  return result.connected;
}
