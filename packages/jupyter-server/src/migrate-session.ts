/**
 * Session migration: move a notebook session's kernel from server A to server B (or to a fresh
 * kernel on the same server) so the notebook continues there with all its state.
 *
 *  1. find the session on A; attach to its kernel and record it (the shim is injected);
 *  2. start a kernel on B (same kernelspec, cwd = the notebook's directory);
 *  3. migrate live (blobs staged in chunks under the websocket limit) and verify every variable;
 *  4. if a cell ran on A meanwhile, start over (the move must include it), up to `attempts` times;
 *  5. repoint: on the same server, PATCH the session to the new kernel (the server then shuts the
 *     old one down, and frontends following the session switch over); across servers, copy the
 *     notebook file if B lacks it, create the session on B with the new kernel, delete A's session
 *     (which shuts A's kernel down).
 *
 * A's kernel is shut down only after verification succeeded and the session exists on B. On any
 * failure before that, A keeps running untouched with its session, what was started on B is shut
 * down, and SessionMigrationError says at which stage and why.
 *
 * With `store` (e.g. `s3://bucket/prefix`, any store URL or a CheckpointStore), step 3 goes through
 * it instead of the websockets' staging: A's kernel is checkpointed into the store (bytes kernel ->
 * coordinator -> bucket, chunks the store already holds are not sent again) and B's kernel restores
 * from it, so the two servers need no shared directory and the checkpoint outlives both. The
 * checkpoint stays in the store (its id is in the report); a failed attempt commits nothing visible
 * or a checkpoint that is never restored, and never touches the store's earlier checkpoints.
 *
 * Pre-copy (`precopy`: the store the kernel's background checkpoints go to, readable by B's kernel):
 * groups unchanged since the kernel's last checkpoint there are loaded by B from the store; only
 * the others cross the websocket (staged). The kernel keeps its lineage point, so checkpoints taken
 * by another connection (the platform's) count.
 *
 * Not covered: a cell sent to A in the moment between the final check (step 4) and the repoint.
 */
import { dirname } from 'node:path/posix';
import type { CallOptions } from '@nbferry/kernel';
import { checkpoint, migrateLive, restore, type LiveMigrationOptions, type LiveMigrationReport } from '@nbferry/migrate';
import { Recorder } from '@nbferry/recorder';
import { openStore, type CheckpointStore, type OpenStoreOptions } from '@nbferry/store';
import { SessionMigrationError, SessionNotFoundError, type SessionMigrationStage } from './errors.js';
import { ServerApi, type ServerInfo, type SessionModel } from './server-api.js';
import { connectServerKernel, startServerKernel, type ServerKernel, type ServerKernelOptions } from './server-kernel.js';
import { stagedBuffers, type StagingOptions } from './staging.js';

export interface SessionMigrationOptions extends Omit<LiveMigrationOptions, 'blobTransfer'>, StagingOptions {
  from: ServerInfo | ServerApi;
  to: ServerInfo | ServerApi;
  /** The session to move, by id or by notebook path (one of them). */
  sessionId?: string;
  path?: string;
  /** Kernelspec to start on the target (default: the source kernel's). */
  kernelName?: string;
  /** Copy the notebook file to the target when the target does not have it (default true). */
  copyNotebook?: boolean;
  /**
   * Accept variables that were recomputed with a different value (e.g. unseeded randomness the
   * recorder could not see). Default false: the move fails verification instead.
   */
  allowRecomputedDifferent?: boolean;
  /** How often to start over when cells ran on the source during the move (default 3). */
  attempts?: number;
  /** Options for the kernel connections (message size limits, ...). */
  connection?: Omit<ServerKernelOptions, keyof CallOptions>;
  /**
   * Move the state through this store instead of the websockets (see above): a URL
   * (`s3://bucket/prefix`, a directory, `file://`) opened with `storeOptions`, or an open store
   * (left open).
   */
  store?: string | CheckpointStore;
  storeOptions?: OpenStoreOptions;
  /** Called as the migration enters each stage; the migration waits for a returned promise. */
  onStage?: (stage: SessionMigrationStage | 'done', attempt: number) => void | Promise<void>;
}

export interface SessionMigrationReport {
  /** The session as the target server now has it. */
  session: SessionModel;
  sourceKernelId: string;
  targetKernelId: string;
  migration: Omit<LiveMigrationReport, 'recorder'>;
  /** With `store`: where the state went through, and the checkpoint's id there. */
  checkpoint?: { store: string; id: string };
  /** 1 unless cells ran on the source during the move. */
  attempts: number;
  /** Whether the source kernel was shut down (false: see `warnings`). */
  sourceShutDown: boolean;
  warnings: string[];
  totalMs: number;
}

export async function migrateSession(options: SessionMigrationOptions): Promise<SessionMigrationReport> {
  const report = await move(options);
  await options.onStage?.('done', report.attempts);
  return report;
}

async function move(options: SessionMigrationOptions): Promise<SessionMigrationReport> {
  const t0 = performance.now();
  const from = options.from instanceof ServerApi ? options.from : new ServerApi(options.from);
  const to = options.to instanceof ServerApi ? options.to : new ServerApi(options.to);
  const sameServer = from.baseUrl === to.baseUrl;
  const call: CallOptions = { signal: options.signal, timeoutMs: options.timeoutMs };
  const kernelOptions: ServerKernelOptions = { ...options.connection, signal: options.signal };
  let stage: SessionMigrationStage = 'find-session';
  let attempt = 1;
  const enter = async (next: SessionMigrationStage) => {
    stage = next;
    await options.onStage?.(next, attempt);
  };

  await enter('find-session');
  const session = await wrap(() => findSession(from, options, call), stage, undefined);
  const sourceKernelId = session.kernel!.id;
  let source: ServerKernel | undefined;
  let target: ServerKernel | undefined;
  const ownStore = typeof options.store === 'string';
  let store: CheckpointStore | undefined;
  try {
    if (options.store !== undefined) store = typeof options.store === 'string' ? await openStore(options.store, options.storeOptions) : options.store;
    await enter('attach-source');
    source = await connectServerKernel(from, sourceKernelId, kernelOptions);
    const recorder = await Recorder.attach(source.client, call);
    if (!sameServer && (await to.findSessionByPath(session.path, call))) {
      throw new Error(`the target already has a session at ${session.path}; delete it there or move to another server`);
    }
    const maxAttempts = Math.max(1, options.attempts ?? 3);
    for (;; attempt++) {
      await enter('start-target');
      target = await startServerKernel(to, { name: options.kernelName ?? session.kernel!.name, path: dirname(session.path) }, kernelOptions);
      await enter('migrate');
      await recorder.sync(call);
      const seqBefore = recorder.graph.lastSeq;
      let through: { store: string; id: string } | undefined;
      let migration: Omit<LiveMigrationReport, 'recorder'>;
      if (store) {
        const moved = await throughStore(recorder, target, store, options);
        migration = moved.migration;
        through = { store: store.root, id: moved.id };
      } else {
        const { recorder: _targetRecorder, ...live } = await migrateLive(recorder, target.client, {
          ...options,
          blobTransfer: (buffers) => stagedBuffers(buffers, options),
        });
        migration = live;
      }
      await enter('verify');
      const problems = verificationProblems(migration, options.allowRecomputedDifferent ?? false);
      if (problems) throw new Error(`verification failed: ${problems}`);
      await enter('source-changed');
      await recorder.sync(call);
      if (recorder.graph.lastSeq !== seqBefore) {
        await target.shutdown();
        target = undefined;
        if (attempt >= maxAttempts) {
          throw new Error(`cells kept running on the source during ${attempt} attempts; move the session when it is quiet`);
        }
        continue;
      }
      await enter('repoint');
      const warnings: string[] = [];
      let moved: SessionModel;
      let sourceShutDown = true;
      if (sameServer) {
        moved = await from.setSessionKernel(session.id, target.kernelId, call);
      } else {
        if (options.copyNotebook ?? true) await copyNotebook(from, to, session.path, call);
        moved = await to.createSession({ path: session.path, name: session.name, type: session.type, kernel: { id: target.kernelId } }, call);
        // From here the move is done: B serves the session. A failure now leaves A running, reported.
        try {
          await from.deleteSession(session.id, { timeoutMs: 30_000 });
        } catch (error) {
          sourceShutDown = false;
          warnings.push(`the session on the source could not be deleted (${(error as Error).message}); its kernel ${sourceKernelId} is still running`);
        }
      }
      // The session is served by the target now: nothing below may undo that.
      const targetKernelId = target.kernelId;
      await target.detach().catch(() => {});
      await source.detach().catch(() => {});
      target = source = undefined;
      return {
        session: moved,
        sourceKernelId,
        targetKernelId,
        migration,
        ...(through ? { checkpoint: through } : {}),
        attempts: attempt,
        sourceShutDown,
        warnings,
        totalMs: performance.now() - t0,
      };
    }
  } catch (error) {
    await target?.shutdown().catch(() => {});
    await source?.detach().catch(() => {});
    throw new SessionMigrationError(stage, (error as Error).message, sourceKernelId, { cause: error });
  } finally {
    if (ownStore) store?.close?.();
  }
}

/** Checkpoints the source into `store` and restores that checkpoint into the target (step 3 with a store). */
async function throughStore(
  recorder: Recorder,
  target: ServerKernel,
  store: CheckpointStore,
  options: SessionMigrationOptions,
): Promise<{ id: string; migration: Omit<LiveMigrationReport, 'recorder'> }> {
  const t0 = performance.now();
  const { store: _store, storeOptions: _storeOptions, ...checkpointOptions } = options;
  // Loss is not refused here: verification after the restore fails the move instead (as live).
  const saved = await checkpoint(recorder, store, { ...checkpointOptions, refuseLoss: options.refuseLoss ?? false });
  const checkpointMs = performance.now() - t0;
  const opened = await store.open(saved.checkpoint.manifest.id);
  const { recorder: _targetRecorder, ...restored } = await restore(opened as typeof saved.checkpoint, target.client, {
    signal: options.signal,
    timeoutMs: options.timeoutMs,
    allowRecomputedDifferent: options.allowRecomputedDifferent,
  });
  const stats = saved.checkpoint.manifest.stats;
  return {
    id: saved.checkpoint.manifest.id,
    // bytesMoved: what this move sent to the store (chunks it already held were not sent again).
    migration: { ...restored, checkpointMs, bytesMoved: stats?.newBytes ?? 0, bytesPrecopied: Math.max(0, (stats?.totalBytes ?? 0) - (stats?.newBytes ?? 0)) },
  };
}

async function findSession(api: ServerApi, options: SessionMigrationOptions, call: CallOptions): Promise<SessionModel> {
  if ((options.sessionId === undefined) === (options.path === undefined)) throw new TypeError('give exactly one of sessionId and path');
  const session = options.sessionId !== undefined ? await api.getSession(options.sessionId, call) : await api.findSessionByPath(options.path!, call);
  if (!session) throw new SessionNotFoundError(api.baseUrl, options.sessionId !== undefined ? `with id ${options.sessionId}` : `at ${options.path}`);
  if (!session.kernel) throw new SessionNotFoundError(api.baseUrl, `with a kernel at ${session.path}`);
  return session;
}

/** Copies the notebook (and creates its directories) when the target lacks it; never overwrites. */
async function copyNotebook(from: ServerApi, to: ServerApi, path: string, call: CallOptions): Promise<void> {
  if (await to.getContents(path, call)) return;
  const model = await from.getContents(path, call);
  if (!model || model.type === 'directory') return;
  const parts = path.split('/').slice(0, -1);
  for (let i = 1; i <= parts.length; i++) {
    const dir = parts.slice(0, i).join('/');
    if (!(await to.getContents(dir, call))) await to.putContents({ path: dir, type: 'directory', format: null, content: null }, call);
  }
  await to.putContents({ path, type: model.type, format: model.format, content: model.content }, call);
}

/** What makes the move unacceptable, or undefined when it is fine. */
function verificationProblems(report: Omit<LiveMigrationReport, 'recorder'>, allowDifferent: boolean): string | undefined {
  const bad = report.verification.variables.filter((v) => v.outcome === 'lost' || (v.outcome === 'recomputed-different' && !allowDifferent));
  if (bad.length > 0) return bad.map((v) => `${v.name}: ${v.outcome} (${v.detail})`).join('; ');
  return report.verification.ok ? undefined : 'the verification report is not ok';
}

async function wrap<T>(work: () => Promise<T>, stage: SessionMigrationStage, kernelId: string | undefined): Promise<T> {
  try {
    return await work();
  } catch (error) {
    throw new SessionMigrationError(stage, (error as Error).message, kernelId, { cause: error });
  }
}
