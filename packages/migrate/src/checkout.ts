/**
 * Checkout and undo in the same running kernel (incremental restore): bring the live kernel back to
 * a checkpoint of the store, reloading or recomputing only the groups that differ from what it holds,
 * deleting the names created since, and verifying.
 *
 * A group is left as it is only with two witnesses, both free of hashing: no history record since
 * the kernel's last checkpoint (its lineage point) wrote any of its names, and that checkpoint
 * recorded the same content fingerprint for each name as the checked-out one (and had the same
 * group: the same names sharing objects). Without a lineage
 * point in this store (or a history that restarted, another fingerprint algorithm) every group is
 * restored. If code the shim did not record ran since that checkpoint (a thread, a comm handler, a
 * silent execute: python-shim unobserved.py), a name may have changed in place with no record
 * saying so: the candidates are then fingerprinted again, and only those still equal are kept.
 * Afterwards the kernel continues the checked-out checkpoint (kept in the kernel, lineage.ts): its
 * next checkpoint names it as parent, so working on after an undo makes a branch that `log` shows,
 * and that checkpoint measures again only what did not come back as checked out.
 */
import type { CallOptions } from '@nbferry/kernel';
import { internalCode, type Recorder } from '@nbferry/recorder';
import type { LocalStore, StoredCheckpoint } from '@nbferry/store';
import { assertCheckpointBody } from './body-check.js';
import { kernelEnvironment } from './environment.js';
import { MigrationError, NothingToUndoError } from './errors.js';
import { commitLineage, lineageOf, recordsSince, type LineagePoint } from './lineage.js';
import type { CheckpointBody } from './manifest-body.js';
import { replayedState } from './replayed-measurement.js';
import { replay, type RestoreOptions, type RestoreReport } from './restore.js';
import { fingerprints } from './shim-api.js';

export type CheckoutOptions = Omit<RestoreOptions, 'replaceExisting' | 'blobSource' | 'prepared' | 'unchangedGroups'>;

export interface CheckoutReport extends RestoreReport {
  /** The checkpoint the kernel now holds. */
  checkpointId: string;
  /** Names the kernel bound that did not exist at that checkpoint: deleted. */
  deleted: string[];
  /** The checkpoint the kernel continued before (its lineage point in this store), if it had one. */
  fromCheckpointId?: string;
  /** Names fingerprinted again before deciding what to keep (code ran outside recorded cells since the last checkpoint). */
  refingerprinted: string[];
}

export async function checkout(recorder: Recorder, store: LocalStore, checkpointId: string, options: CheckoutOptions = {}): Promise<CheckoutReport> {
  const call: CallOptions = { signal: options.signal, timeoutMs: options.timeoutMs };
  const checkpoint = await store.open<CheckpointBody>(checkpointId, { key: options.key, trustUnsigned: options.trustUnsigned });
  assertCheckpointBody(checkpoint.manifest.body, checkpoint.dir);
  const { body } = checkpoint.manifest;

  const point = await lineageOf(recorder, store, call);
  // `variables` first records what changed outside cells, so the history below is complete.
  const { result } = await recorder.request<{ variables: Record<string, unknown>; unobserved?: number }>('variables', {}, call);
  await recorder.sync(call);
  const live = new Set(Object.keys(result.variables));
  const atCheckpoint = new Set([...Object.keys(body.fingerprints.values), ...body.unrecoverable.map((u) => u.name)]);
  const deleted = [...live].filter((name) => !atCheckpoint.has(name)).sort();
  let unchanged = unchangedGroups(recorder, point, checkpoint, live);
  const refingerprinted: string[] = [];
  if (unchanged.size > 0 && (point?.unobserved === undefined || point.unobserved !== result.unobserved)) {
    refingerprinted.push(...[...unchanged.values()].flat().sort());
    unchanged = await stillEqual(recorder, unchanged, checkpoint, refingerprinted, call);
  }
  await deleteNames(recorder, deleted, call);

  const packages = Object.keys(checkpoint.manifest.environment.packages);
  const environment = await kernelEnvironment(recorder.client, packages, call);
  const report = await replay(
    checkpoint.manifest,
    { kind: 'dir', dir: checkpoint.blobsDir, chunksDir: checkpoint.chunksDir },
    recorder.client,
    { ...options, replaceExisting: true, prepared: { client: recorder.client, recorder, environment, packages }, unchangedGroups: unchanged },
  );
  const state = await replayedState(recorder, checkpoint.manifest, report.verification, call);
  await commitLineage(recorder, { root: store.root, id: checkpoint.manifest.id, manifest: checkpoint.manifest, ...state }, { ...call, replacesState: true });
  return { ...report, checkpointId: checkpoint.manifest.id, deleted, fromCheckpointId: point?.id, refingerprinted };
}

/** The offered groups whose every name's fingerprint, taken now, is still the checkpoint's. */
async function stillEqual(
  recorder: Recorder,
  offered: Map<string, string[]>,
  target: StoredCheckpoint<CheckpointBody>,
  names: string[],
  call: CallOptions,
): Promise<Map<string, string[]>> {
  const { algo, values } = target.manifest.body.fingerprints;
  if (!(recorder.hello.hashAlgos?.includes(algo) ?? true)) return new Map(); // cannot compare here: restore them all
  const now = await fingerprints(recorder, names, algo, call);
  const equal = (name: string) => now[name]?.reliable === true && now[name]?.digest === values[name];
  return new Map([...offered].filter(([, groupNames]) => groupNames.every(equal)));
}

/**
 * Undo: back to the kernel's last checkpoint in this store if a cell ran since it, else to that
 * checkpoint's parent (the state before the last checkpointed cell).
 */
export async function undo(recorder: Recorder, store: LocalStore, options: CheckoutOptions = {}): Promise<CheckoutReport> {
  const call: CallOptions = { signal: options.signal, timeoutMs: options.timeoutMs };
  await recorder.sync(call);
  const point = await lineageOf(recorder, store, call);
  if (!point) throw new NothingToUndoError(store.root, 'this kernel has not checkpointed into (or been restored from) this store');
  const since = point.seq === undefined ? undefined : recordsSince(recorder, point.seq);
  const ranSince = !since || since.some((r) => r.kind === 'cell');
  if (ranSince) return checkout(recorder, store, point.id, options);
  if (!point.manifest.parent) throw new NothingToUndoError(store.root, `checkpoint ${point.id} is the first of its line`);
  return checkout(recorder, store, point.manifest.parent, options);
}

/** Planner group id -> names, for each group of the checkpoint the kernel provably holds unchanged. */
function unchangedGroups(
  recorder: Recorder,
  point: LineagePoint | undefined,
  target: StoredCheckpoint<CheckpointBody>,
  live: ReadonlySet<string>,
): Map<string, string[]> {
  const unchanged = new Map<string, string[]>();
  const since = point?.seq === undefined ? undefined : recordsSince(recorder, point.seq);
  if (!point || !since) return unchanged;
  const now = point.manifest.body.fingerprints;
  const then = target.manifest.body.fingerprints;
  if (now.algo !== then.algo) return unchanged;
  const written = new Set<string>();
  for (const record of since) {
    for (const name of [...record.created, ...record.modified, ...record.deleted]) written.add(name);
  }
  // Sharing between names must be as at the target too: the same members make one group in both.
  const groupsNow = new Set(point.manifest.body.problem.groups.map((g) => [...g.names].sort().join('\0')));
  for (const group of target.manifest.body.problem.groups) {
    if (!groupsNow.has([...group.names].sort().join('\0'))) continue;
    const same = group.names.every((name) => {
      const fingerprint = then.values[name];
      return live.has(name) && !written.has(name) && typeof fingerprint === 'string' && now.values[name] === fingerprint;
    });
    if (same && group.names.length > 0) unchanged.set(group.id, [...group.names]);
  }
  return unchanged;
}

async function deleteNames(recorder: Recorder, names: readonly string[], call: CallOptions): Promise<void> {
  if (names.length === 0) return;
  const code = `for __n in ${JSON.stringify(names)}:\n    get_ipython().user_ns.pop(__n, None)\ndel __n`;
  const result = await recorder.client.execute(internalCode(code), { ...call, silent: true, storeHistory: false });
  if (result.status !== 'ok') throw new MigrationError(`undo could not delete ${names.join(', ')} (${result.error?.ename}: ${result.error?.evalue}); the kernel may still bind them`, 'CHECKOUT_DELETE_FAILED');
}

