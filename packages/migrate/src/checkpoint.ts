/**
 * Checkpoint: from a recorded kernel, measure what the plan needs, plan, have the kernel write the
 * chosen groups straight into the store's staging directory, then commit the manifest. The kernel
 * keeps running and its namespace is not changed. A failure discards the new checkpoint only.
 */
import type { CallOptions } from '@nbferry/kernel';
import {
  keepingSplitsSafe,
  NoValidPlanError,
  planReplication,
  planWithDeadline,
  type CostSettings,
  type PlanningProblem,
  type ReplicationPlan,
} from '@nbferry/planner';
import type { Recorder, ShimCallOptions } from '@nbferry/recorder';
import { CheckpointWriteError, currentOwner, type BlobEntry, type CheckpointKey, type CheckpointStore, type Environment, type LocalStore, type StoredCheckpoint } from '@nbferry/store';
import { watchDirBytes } from './bytes-watch.js';
import { kernelEnvironment, packagesOf } from './environment.js';
import { CheckpointLossError } from './errors.js';
import type { CheckpointBody, CheckpointTimings } from './manifest-body.js';
import { groupId, planningProblem } from './planning-problem.js';
import { smallestFirst } from './load-order.js';
import type { ProgressListener } from './progress.js';
import { measure, rngStates, saveToDir, type MeasureSince, type Measurement, type SaveGuard, type SavedBlob } from './shim-api.js';
import { StateChangedError } from './errors.js';
import { commitLineage, lineageOf } from './lineage.js';
import { measureSince, reusableBlobs } from './incremental.js';
import { saveToRemote } from './remote-blobs.js';

export interface CheckpointOptions extends CallOptions {
  costs?: Partial<CostSettings>;
  /**
   * How many times to measure and save again when a cell runs during the checkpoint (the state
   * moved between measuring and saving); then StateChangedError. Default 3.
   */
  attempts?: number;
  /** Deadline mode: the checkpoint must finish within this budget (e.g. a spot eviction notice). */
  deadlineMs?: number;
  /**
   * Seconds measure may spend pickling one group, and notebook code (a __reduce__) it calls may run
   * per variable, before giving up on it (a lower-bound estimate, no fingerprint). Default 2.
   */
  measureBudgetSec?: number;
  onProgress?: ProgressListener;
  /** Sign the checkpoint with this private key (readKeyFile); default: the store's key, if any. */
  key?: CheckpointKey;
  /**
   * Reuse the blobs of groups unchanged since this kernel's last checkpoint in the same store
   * (incremental.ts), and measure only the names written since it; default true. False measures,
   * pickles and writes every serialized group again.
   */
  incremental?: boolean;
  /**
   * Run the shim's work (history, measure, save, queries) on this kernel subshell (a background
   * lane, python-shim lane.py) instead of the main shell: cells run meanwhile, and one that starts
   * before the bytes are all produced makes the checkpoint fail with CheckpointPreemptedError.
   */
  subshellId?: string;
  /**
   * Refuse a checkpoint that cannot bring back every variable: throw CheckpointLossError (naming
   * each one and why) instead of committing; the store and its previous checkpoint are untouched.
   */
  refuseLoss?: boolean;
  /**
   * Pipelined restore (pipelined.ts): told the plan before any blob is written, and each group as
   * soon as its blob is durable in the store. Local stores only; groups are then saved one request
   * each.
   */
  pipeline?: CheckpointPipeline;
}

/** Hooks of a checkpoint that a restore follows while it is written (pipelined.ts). */
export interface CheckpointPipeline {
  /** Awaited after planning, before the save; `prepared.reused` groups are already in the store. */
  planned(prepared: PreparedCheckpoint): Promise<void>;
  /** One group's save finished: its blob is durable in the store if `blob.ok`. */
  saved(blob: SavedBlob): void;
  /** Groups of at least this many bytes push each chunk as it is stored (the recorder's `savedChunks` events). */
  streamChunksOver?: number;
}

export interface CheckpointResult {
  checkpoint: StoredCheckpoint<CheckpointBody>;
  plan: ReplicationPlan;
  /** Set in deadline mode when no plan fits the budget (the best effort was written). */
  deadlineMissed?: boolean;
  timings: CheckpointTimings;
  /** Groups not pickled nor written: their blobs were reused from the parent checkpoint. */
  reused: string[];
  /** Groups whose measurement (fingerprints, pickled size) was reused from the kernel's last checkpoint. */
  measureReused?: string[];
}

export interface Planned {
  plan: ReplicationPlan;
  problem: PlanningProblem;
  unrecoverable: { name: string; reason: string }[];
  deadlineMissed?: boolean;
}

/**
 * Plans, dropping groups that no plan can bring back (they are reported, not silently lost). A
 * split group's halves stay apart only where the plan keeps their shared objects (the planner's
 * split-groups.ts); `problem` is the one the plan was made for.
 */
export function planOrDrop(problem: PlanningProblem, deadlineMs?: number): Planned {
  const unrecoverable: { name: string; reason: string }[] = [];
  let current = problem;
  for (;;) {
    try {
      if (deadlineMs === undefined) {
        const safe = keepingSplitsSafe(current, (p) => planReplication(p), (plan) => plan);
        return { plan: safe.result, problem: safe.problem, unrecoverable };
      }
      const safe = keepingSplitsSafe(current, (p) => planWithDeadline(p, { checkpointBudgetMs: deadlineMs }), (r) => r.plan);
      return { plan: safe.result.plan, problem: safe.problem, unrecoverable, deadlineMissed: !safe.result.fits };
    } catch (error) {
      if (!(error instanceof NoValidPlanError)) throw error;
      // By name: a group merged back from its halves has the id of one of them.
      const droppedNames = new Set(error.variables.map((v) => v.name));
      unrecoverable.push(...error.variables.map((v) => ({ name: v.name, reason: v.reason })));
      const dropped = current.groups.filter((g) => g.names.some((name) => droppedNames.has(name)));
      for (const group of dropped) {
        for (const name of group.names) {
          if (!unrecoverable.some((u) => u.name === name)) {
            unrecoverable.push({ name, reason: 'shares objects with a variable that cannot be brought back' });
          }
        }
      }
      current = { ...current, groups: current.groups.filter((g) => !dropped.includes(g)) };
    }
  }
}

/** A kernel's state measured and planned, ready to be serialized. */
export interface PreparedCheckpoint {
  measurement: Measurement;
  planned: Planned;
  /** Groups whose blob an earlier checkpoint already stored (incremental.ts): never saved again. */
  reused?: Map<string, BlobEntry>;
  startedAt: number;
  timings: Pick<CheckpointTimings, 'syncMs' | 'measureMs' | 'planMs'>;
}

export async function prepareCheckpoint(
  recorder: Recorder,
  options: CheckpointOptions = {},
  /** Finds blobs to reuse once measured (incremental checkpoints); their groups cost nothing to checkpoint. */
  reuse?: (measurement: Measurement) => Promise<Map<string, BlobEntry>>,
  /** Measure only what changed since an earlier measurement (incremental.ts measureSince); asked after the sync. */
  since?: () => MeasureSince | undefined,
): Promise<PreparedCheckpoint> {
  const progress = options.onProgress ?? (() => {});
  const call = shimCallOptions(options);
  const t0 = performance.now();
  progress({ phase: 'sync' });
  await recorder.sync(call);
  const t1 = performance.now();
  progress({ phase: 'measure' });
  const measurement = await measure(recorder, { ...call, budgetSec: options.measureBudgetSec, since: since?.() });
  const t2 = performance.now();
  progress({ phase: 'plan' });
  const reused = reuse ? await reuse(measurement) : new Map<string, BlobEntry>();
  const problem = planningProblem(recorder.graph.executions, measurement.groups, options.costs, measurement.variables);
  problem.groups = problem.groups.map((g) => (reused.has(g.id) ? { ...g, stored: true } : g));
  const planned = planOrDrop(problem, options.deadlineMs);
  keepReusedOfPlan(reused, planned.problem);
  const t3 = performance.now();
  return { measurement, planned, reused, startedAt: t0, timings: { syncMs: t1 - t0, measureMs: t2 - t1, planMs: t3 - t2 } };
}

/**
 * Drops the stored blobs whose group the plan no longer has with the same names: the saveable half
 * of a split group loses the names the plan must recompute with the rest (split-groups.ts), and
 * must then be saved anew.
 */
function keepReusedOfPlan(reused: Map<string, BlobEntry>, problem: PlanningProblem): void {
  const names = new Map(problem.groups.map((g) => [g.id, [...g.names].sort().join('\0')]));
  for (const [id, entry] of reused) {
    if (names.get(id) !== [...entry.variables].sort().join('\0')) reused.delete(id);
  }
}

/**
 * Serializes every group the plan chose. A group that fails now (measuring can miss what only a
 * full pickle hits) is re-planned as unserializable, and any group the new plan adds is saved in
 * turn. Updates `prepared.planned`; returns the saved blob of every serialized group.
 */
export async function serializePlanned(
  prepared: PreparedCheckpoint,
  save: (groups: string[][]) => Promise<SavedBlob[]>,
  options: CheckpointOptions = {},
  storePath = 'the checkpoint store',
): Promise<Map<string, SavedBlob>> {
  const progress = options.onProgress ?? (() => {});
  const saved = new Map<string, SavedBlob>();
  for (;;) {
    const { planned } = prepared;
    const unsaved = planned.plan.serialize.filter((id) => !saved.has(id) && !prepared.reused?.has(id));
    if (unsaved.length === 0) return saved;
    const inPlan = unsaved.map((id) => planned.problem.groups.find((g) => g.id === id)!);
    // Followed by a restore (pipeline): the small groups first, so it loads them while the big ones are written.
    const groups = options.pipeline ? smallestFirst(inPlan) : inPlan;
    const pending = groups.map((g) => g.id);
    progress({ phase: 'save', groups: pending.length, bytes: groups.reduce((sum, g) => sum + g.bytes, 0) });
    const blobs = await save(groups.map((g) => [...g.names]));
    // The store failed (disk full, file too large, I/O error), not the value: never re-plan that
    // as "unserializable" (it would commit a checkpoint that silently lacks the group).
    const writeFailure = blobs.find((b) => !b.ok && b.error?.kind === 'write' && b.error.errno !== undefined) ?? blobs.find((b) => !b.ok && b.error?.kind === 'write');
    if (writeFailure) {
      const cause = Object.assign(new Error(`saving ${writeFailure.names.join(', ')}: ${writeFailure.error!.message}`), { code: writeFailure.error!.errno });
      throw new CheckpointWriteError(storePath, cause);
    }
    const failed = new Map<string, string>();
    pending.forEach((id, i) => {
      const blob = blobs[i]!;
      if (blob.ok) saved.set(id, blob);
      else failed.set(id, blob.error?.message ?? 'serialization failed');
    });
    if (failed.size === 0) continue;
    const problem = {
      ...planned.problem,
      groups: planned.problem.groups.map((g) => (failed.has(g.id) ? { ...g, serializable: false, reason: failed.get(g.id) } : g)),
    };
    const replanned = planOrDrop(problem, options.deadlineMs);
    prepared.planned = { ...replanned, unrecoverable: [...planned.unrecoverable, ...replanned.unrecoverable] };
    if (prepared.reused) keepReusedOfPlan(prepared.reused, replanned.problem);
    progress({ phase: 'fallback', reason: `re-planned: ${[...failed.values()].join('; ')}` });
  }
}

/** The manifest content for what was saved: blob list, environment, and the checkpoint body. */
export async function describeCheckpoint(
  recorder: Recorder,
  prepared: PreparedCheckpoint,
  saved: Map<string, SavedBlob>,
  blobFile: (blob: SavedBlob, group: string) => string,
  saveMs: number,
  options: ShimCallOptions = {},
): Promise<{ environment: Environment; blobs: BlobEntry[]; body: CheckpointBody }> {
  const { measurement, planned } = prepared;
  // Blobs saved for groups a later re-plan chose to recompute are simply not referenced.
  const blobs: BlobEntry[] = planned.plan.serialize.map((group) => prepared.reused?.get(group) ?? blobEntry(saved.get(group)!, group, blobFile));
  const environment = await kernelEnvironment(recorder.client, savedPackages(measurement, blobs), options);
  return { environment, blobs, body: await checkpointBody(recorder, prepared, saveMs, options) };
}

/** The manifest entry of a blob the shim saved for `group`. */
export function blobEntry(blob: SavedBlob, group: string, blobFile: (blob: SavedBlob, group: string) => string = (b) => b.file ?? ''): BlobEntry {
  const checksum = blob.checksum ?? `sha256:${blob.sha256!}`;
  const entry: BlobEntry = { file: blobFile(blob, group), bytes: blob.bytes!, checksum, group, variables: blob.names };
  if (!blob.chunks) return entry;
  return blob.chunkBytes ? { ...entry, chunks: blob.chunks, chunkBytes: blob.chunkBytes } : { ...entry, chunks: blob.chunks };
}

/** The checkpoint body (history, plan, fingerprints, what cannot be recovered) of the state `prepared` measured. */
export async function checkpointBody(recorder: Recorder, prepared: PreparedCheckpoint, saveMs: number, options: ShimCallOptions = {}): Promise<CheckpointBody> {
  const { measurement, planned } = prepared;
  return {
    history: recorder.graph.toJSON(),
    problem: planned.problem,
    plan: planned.plan,
    fingerprints: {
      algo: measurement.algo,
      values: Object.fromEntries(Object.entries(measurement.variables).map(([name, v]) => [name, v.reliable ? v.fingerprint : null])),
      faithful: Object.entries(measurement.variables)
        .filter(([, v]) => v.reliable && v.faithful === true)
        .map(([name]) => name),
    },
    unrecoverable: planned.unrecoverable,
    rng: await rngStates(recorder, planned.plan.rerun, options),
    cwd: recorder.hello.cwd,
    timings: { ...prepared.timings, saveMs, commitMs: 0, totalMs: 0 },
  };
}

/**
 * Writes the given groups' blobs into `blobsDir` (the staging directory of a checkpoint). Writers
 * that can should pass `guard` to the shim (saveToDir does): it refuses to save a state that moved.
 */
export type BlobWriter = (groups: string[][], blobsDir: string, options: ShimCallOptions, guard: SaveGuard) => Promise<SavedBlob[]>;

/**
 * A checkpoint whose blobs `writeBlobs` puts in the store: measure, plan, serialize (re-planning
 * around failures), commit. A failure discards the new checkpoint only. A cell run during the
 * checkpoint (between measure and save, or before the commit) makes it start over, up to
 * `attempts` times: a committed checkpoint is always one consistent state.
 */
export async function checkpointWith(
  recorder: Recorder,
  store: CheckpointStore,
  writeBlobs: BlobWriter,
  options: CheckpointOptions = {},
): Promise<CheckpointResult> {
  const attempts = Math.max(1, options.attempts ?? 3);
  for (let attempt = 1; ; attempt++) {
    try {
      return await checkpointOnce(recorder, store, writeBlobs, options);
    } catch (error) {
      if (!(error instanceof StateChangedError)) throw error;
      if (attempt >= attempts) throw new StateChangedError(error.measuredSeq, error.currentSeq, attempt);
      options.onProgress?.({ phase: 'fallback', reason: `${error.message}; checkpointing again` });
    }
  }
}

/** The options of the shim requests a checkpoint makes (on its lane, if any). */
function shimCallOptions(options: CheckpointOptions): ShimCallOptions {
  return { signal: options.signal, timeoutMs: options.timeoutMs, ...(options.subshellId === undefined ? {} : { subshellId: options.subshellId }) };
}

async function checkpointOnce(recorder: Recorder, store: CheckpointStore, writeBlobs: BlobWriter, options: CheckpointOptions): Promise<CheckpointResult> {
  const call = shimCallOptions(options);
  // The staging lease is held from before measuring: chunks found reusable stay until the commit (gc waits).
  const draft = await store.begin({ signal: options.signal });
  try {
    // The kernel's lineage point: this process's, or the one the kernel keeps from another process.
    const point = await lineageOf(recorder, store, call);
    const previous = options.incremental === false ? undefined : point;
    const since = options.incremental === false ? undefined : () => measureSince(recorder, previous);
    // A remote store's chunks are checked where they are; a local one's on disk.
    const chunksAt = store.remote ? store.remote : (store as LocalStore).chunksDir;
    const prepared = await prepareCheckpoint(recorder, options, (m) => reusableBlobs(recorder, m, previous, chunksAt), since);
    if (options.refuseLoss) refuseLoss(prepared);
    await options.pipeline?.planned(prepared);
    const guard: SaveGuard = { seq: prepared.measurement.seq, owner: currentOwner(), ...(prepared.measurement.generation === undefined ? {} : { generation: prepared.measurement.generation }) };
    const t0 = performance.now();
    const blobsDir = draft.blobsDir ?? ''; // a remote draft has no directory: its writer ignores it
    const saved = await serializeWatched(recorder, prepared, blobsDir, (groups) => writeBlobs(groups, blobsDir, call, guard), options, store.root);
    if (options.refuseLoss) refuseLoss(prepared); // a group that failed to save may have made things worse
    const t1 = performance.now();
    options.onProgress?.({ phase: 'commit' });
    const content = await describeCheckpoint(recorder, prepared, saved, (blob) => blob.file!, t1 - t0, call);
    await throwIfStateMoved(recorder, prepared, call);
    const parent = point?.id;
    const stats = { newBytes: sumOf([...saved.values()], (b) => b.newBytes ?? b.bytes ?? 0), totalBytes: sumOf(content.blobs, (b) => b.bytes) };
    const committed = await draft.commit<CheckpointBody>({ ...content, ...(parent ? { parent } : {}), stats }, { signWith: options.key });
    const { seq, unobserved } = prepared.measurement;
    await commitLineage(recorder, { root: store.root, id: committed.manifest.id, manifest: committed.manifest, seq, measurement: prepared.measurement, unobserved }, { ...call, pinLast: true });
    const t2 = performance.now();
    const timings = { ...content.body.timings, commitMs: t2 - t1, totalMs: t2 - prepared.startedAt };
    const reused = prepared.planned.plan.serialize.filter((g) => prepared.reused?.has(g));
    const measureReused = prepared.measurement.groups.filter((g) => g.reused).map(groupId);
    return { checkpoint: committed, plan: prepared.planned.plan, deadlineMissed: prepared.planned.deadlineMissed, timings, reused, measureReused };
  } catch (error) {
    await draft.abort().catch(() => {});
    // A writer's raw file-system error (ENOSPC from the coordinator's own writes) is a store failure.
    if (typeof (error as NodeJS.ErrnoException).code === 'string' && (error as NodeJS.ErrnoException).syscall) {
      throw new CheckpointWriteError(store.root, error);
    }
    throw error;
  }
}

/**
 * The history the manifest describes must end where the saved state was measured: a cell that ran
 * after the save (its record is in the history now) would describe a state the blobs do not hold.
 */
export async function throwIfStateMoved(recorder: Recorder, prepared: PreparedCheckpoint, options: ShimCallOptions = {}): Promise<void> {
  const seq = prepared.measurement.seq;
  if (seq === undefined) return;
  await recorder.sync(options);
  if (recorder.graph.lastSeq !== seq) throw new StateChangedError(seq, recorder.graph.lastSeq);
}

/**
 * serializePlanned, reporting the bytes saved as they grow (`bytes` progress events): from the
 * shim's `progress` pushes (format 2 writes chunks into the store's shared chunks directory), and
 * from the files growing in `blobsDir` (format 1 blob files), whichever is further.
 */
async function serializeWatched(
  recorder: Recorder,
  prepared: PreparedCheckpoint,
  blobsDir: string,
  save: (groups: string[][]) => Promise<SavedBlob[]>,
  options: CheckpointOptions,
  storePath?: string,
): Promise<Map<string, SavedBlob>> {
  const progress = options.onProgress;
  if (!progress) return serializePlanned(prepared, save, options, storePath);
  let total = 0;
  let saving = false;
  let reported = 0;
  const report = (done: number) => {
    if (done <= reported) return; // two sources: report only progress
    reported = done;
    progress({ phase: 'bytes', op: 'save', done, total: Math.max(total, done) });
  };
  const watch = watchDirBytes(blobsDir, report);
  const unsubscribe = recorder.events.on('progress', (p) => p.op === 'save' && report(p.done));
  try {
    const saved = await serializePlanned(prepared, save, {
      ...options,
      onProgress: (event) => {
        if (event.phase === 'save') {
          saving = true;
          total += event.bytes; // the measured estimate, until the exact count below
        }
        progress(event);
      },
    }, storePath);
    unsubscribe();
    await watch.stop();
    const bytes = [...saved.values()].reduce((sum, blob) => sum + (blob.bytes ?? 0), 0);
    if (saving) progress({ phase: 'bytes', op: 'save', done: bytes, total: bytes });
    return saved;
  } finally {
    unsubscribe();
    await watch.stop();
  }
}

function refuseLoss(prepared: PreparedCheckpoint): void {
  const { unrecoverable, plan } = prepared.planned;
  if (unrecoverable.length > 0) throw new CheckpointLossError(unrecoverable, plan);
}

/**
 * Checkpoint into `store`: a local store's chunks are written by the kernel straight to disk; a
 * remote one's (an object store) travel through the coordinator chunk by chunk (remote-blobs.ts).
 */
export function checkpoint(recorder: Recorder, store: CheckpointStore, options: CheckpointOptions = {}): Promise<CheckpointResult> {
  const remote = store.remote;
  if (remote) {
    const onBytes = (done: number) => recorder.events.emit('progress', { op: 'save', done, total: done });
    return checkpointWith(recorder, store, (groups, _dir, call, guard) => saveToRemote(recorder, groups, remote, call, guard, onBytes), options);
  }
  const local = store as LocalStore;
  const pipeline = options.pipeline;
  if (!pipeline) return checkpointWith(recorder, store, (groups, blobsDir, call, guard) => saveToDir(recorder, groups, blobsDir, call, guard, local.chunksDir), options);
  // One request per group: a restore following the checkpoint can load each as soon as it is stored.
  return checkpointWith(
    recorder,
    store,
    async (groups, blobsDir, call, guard) => {
      const blobs: SavedBlob[] = [];
      let progressFrom = 0; // each request's progress counts on from the bytes the earlier ones saved
      for (const [i, names] of groups.entries()) {
        const [blob] = await saveToDir(recorder, [names], blobsDir, call, guard, local.chunksDir, { progressFrom, streamChunksOver: pipeline.streamChunksOver });
        progressFrom += blob!.bytes ?? 0;
        blobs.push(blob!);
        pipeline.saved(blob!);
        // A store failure stops the save (as one request would): the rest are not attempted.
        if (!blob!.ok && blob!.error?.kind === 'write') {
          for (const rest of groups.slice(i + 1)) blobs.push({ names: rest, ok: false, seconds: 0, error: { kind: 'write', message: 'not attempted after a write failure' } });
          break;
        }
      }
      return blobs;
    },
    options,
  );
}

function sumOf<T>(items: readonly T[], size: (item: T) => number): number {
  return items.reduce((total, item) => total + size(item), 0);
}

/** Packages whose objects were saved, plus the pickler: their versions must match at restore. */
export function savedPackages(measurement: Measurement, blobs: BlobEntry[]): string[] {
  const modules = blobs.flatMap((b) => b.variables.map((name) => measurement.variables[name]?.module ?? ''));
  return [...new Set([...packagesOf(modules), measurement.pickler].filter((p) => p && p !== 'pickle'))].sort();
}
