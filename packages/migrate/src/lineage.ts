/**
 * Which checkpoint a kernel's state continues: the last one committed from it, or the one restored
 * into it. A new checkpoint of that kernel names it as `parent`, so restoring an old checkpoint and
 * working on makes a new line of history (a branch) that `log` shows.
 *
 * The point lives in the kernel (the shim's `lineage` op: store identity, checkpoint id, history
 * seq, and the measurement of that state), so a coordinator process that attaches later (each CLI
 * command is one) continues it: its checkpoint is incremental and its undo knows where to go back.
 * This process caches it per recorder. The measurement stays in the kernel rather than here: the
 * shim produced it and keeps it by reference (pinLast), so a checkpoint never sends it back, and
 * only a coordinator that attaches afresh reads it, once.
 */
import { realpathSync } from 'node:fs';
import type { CallOptions } from '@nbferry/kernel';
import type { Recorder } from '@nbferry/recorder';
import type { CheckpointStore, Manifest } from '@nbferry/store';
import { checkpointBodyProblem } from './body-check.js';
import type { CheckpointBody } from './manifest-body.js';
import type { Measurement } from './shim-api.js';

export interface LineagePoint {
  /** The store's root directory. */
  root: string;
  id: string;
  manifest: Manifest<CheckpointBody>;
  /** This kernel's history position the checkpoint's state is at (its recorder's seq); unknown: no reuse. */
  seq?: number;
  /** The kernel's measurement at `seq`: the next checkpoint measures only what changed. */
  measurement?: Measurement;
  /**
   * The shim's count of code run outside recorded cells (python-shim unobserved.py) at `seq`: if it
   * moved, a variable may have changed in place with no history record saying so.
   */
  unobserved?: number;
}

const points = new WeakMap<Recorder, Map<string, LineagePoint>>();

/** The point this process knows (set by a checkpoint, restore or checkout here, or read by lineageOf). */
export function lastCheckpointOf(recorder: Recorder, root: string): LineagePoint | undefined {
  return points.get(recorder)?.get(root);
}

/** Sets the point in this process only; `commitLineage` also keeps it in the kernel. */
export function setLastCheckpoint(recorder: Recorder, point: LineagePoint): void {
  const byRoot = points.get(recorder) ?? new Map<string, LineagePoint>();
  byRoot.set(point.root, point);
  points.set(recorder, byRoot);
}

/**
 * The store as the kernel's lineage names it: its real path, so two processes that reach it by
 * different paths (relative, through a symlink) agree.
 */
export function storeIdentity(root: string): string {
  try {
    return realpathSync(root);
  } catch {
    return root;
  }
}

interface ShimLineage {
  point: { id: string; seq: number; unobserved?: number } | null;
  measurement: Measurement | null;
  lastSeq: number;
  unobserved: number;
}

/**
 * The kernel's point in `store` as the kernel keeps it (another process may have moved it since
 * this one cached it), with its manifest read from the store; this process's cached point when it
 * is the same one (or the kernel cannot answer). Undefined if there is none, or the checkpoint is
 * gone from the store (gc) or unreadable: it is then as if the kernel had none (the next
 * checkpoint measures everything and has no parent).
 */
export async function lineageOf(recorder: Recorder, store: Pick<CheckpointStore, 'root' | 'open'>, options: CallOptions = {}): Promise<LineagePoint | undefined> {
  const known = lastCheckpointOf(recorder, store.root);
  const ask = (withMeasurement: boolean) => recorder.request<ShimLineage>('lineage', { store: storeIdentity(store.root), withMeasurement }, options);
  let reply: ShimLineage;
  try {
    ({ result: reply } = await ask(false));
    if (!reply.point) return known?.seq === undefined ? known : undefined;
    if (known && known.id === reply.point.id && known.seq === reply.point.seq) return known;
    ({ result: reply } = await ask(true));
  } catch (error) {
    if (options.signal?.aborted) throw error;
    return known; // a shim without the op (older) or a kernel that cannot answer
  }
  if (!reply.point) return undefined;
  const manifest = await store
    .open<CheckpointBody>(reply.point.id)
    .then((c) => (checkpointBodyProblem(c.manifest.body) === undefined ? c.manifest : undefined))
    .catch(() => undefined);
  if (!manifest) return undefined;
  const measurement = reply.measurement && reply.measurement.seq === reply.point.seq ? reply.measurement : undefined;
  const point: LineagePoint = { root: store.root, id: reply.point.id, manifest, seq: reply.point.seq, measurement, unobserved: reply.point.unobserved ?? measurement?.unobserved };
  setLastCheckpoint(recorder, point);
  return point;
}

/**
 * Sets the point here and in the kernel. `pinLast`: the kernel keeps its own last measurement
 * (the one this checkpoint was made from) instead of receiving `point.measurement`. `replacesState`
 * (a restore or checkout): the kernel no longer continues its points in other stores; they are
 * dropped. Keeping it in the kernel is best effort: if that fails, only other processes lose it
 * (they then measure all).
 */
export async function commitLineage(recorder: Recorder, point: LineagePoint, options: CallOptions & { pinLast?: boolean; replacesState?: boolean } = {}): Promise<void> {
  if (options.replacesState) points.delete(recorder);
  setLastCheckpoint(recorder, point);
  if (point.seq === undefined) return;
  const set: Record<string, unknown> = { store: storeIdentity(point.root), id: point.id, seq: point.seq };
  if (point.unobserved !== undefined) set.unobserved = point.unobserved;
  if (options.replacesState) set.exclusive = true;
  if (options.pinLast) set.pinLast = true;
  else if (point.measurement) set.measurement = point.measurement;
  try {
    await recorder.request('lineage', { set }, { signal: options.signal, timeoutMs: options.timeoutMs });
  } catch (error) {
    if (options.signal?.aborted) throw error;
  }
}

/**
 * The history records after `seq`, or undefined when this recorder's history does not hold all of
 * them (the kernel's buffer dropped old records, or its history restarted): then nothing can be
 * proven unchanged since `seq`.
 */
export function recordsSince(recorder: Recorder, seq: number): Recorder['graph']['executions'] | undefined {
  const last = recorder.graph.lastSeq;
  if (last < seq) return undefined;
  const since = recorder.graph.executions.filter((r) => r.seq > seq);
  return since.length === last - seq ? since : undefined;
}
