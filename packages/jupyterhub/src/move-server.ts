/**
 * Move a user's session to another named server ("a bigger machine": another spawner profile).
 * First a checkpoint of every kernel on the source (so a move that fails half-way loses nothing),
 * then the target server is started with the profile's spawner options, and each notebook session
 * is moved live (migrateSession: a kernel started in the notebook's directory on the target,
 * every variable verified, the notebook copied if the target lacks it, the session recreated
 * there, the source's session deleted). The source server is stopped once every session moved.
 * With an `s3://` store root the state moves through the notebook's store in the bucket.
 */
import { migrateSession, type ServerApi } from '@nbferry/jupyter-server';
import { checkpointServer } from './checkpoint-server.js';
import { MoveError, HubRequestError, serverLabel } from './errors.js';
import type { HubApi } from './hub-api.js';
import { snapshot, userServerApi, waitAnswering } from './user-server.js';
import type { UserStores } from './user-stores.js';

export interface MoveRequest {
  user: string;
  /** The source server's name ('' = the default server). */
  from: string;
  /** The target named server. */
  to: string;
  /** Spawner options of the target (e.g. `{ "profile": "big" }`), used when it is started. */
  userOptions?: Record<string, unknown>;
  /** Stop the source server once every session moved (default true). */
  stopSource?: boolean;
}

export interface MovedSession {
  path: string;
  sourceKernelId: string;
  targetKernelId?: string;
  ok: boolean;
  totals?: Record<string, number>;
  lost?: string[];
  totalMs?: number;
  error?: string;
}

export interface MoveReport {
  user: string;
  from: string;
  to: string;
  /** Checkpoints taken on the source before the move (one per kernel). */
  checkpoints: { path: string | null; checkpointId: string }[];
  targetStarted: boolean;
  sessions: MovedSession[];
  sourceStopped: boolean;
  totalMs: number;
}

export interface MoveContext {
  hub: HubApi;
  publicUrl: string;
  token: string;
  stores: UserStores;
  timeoutMs?: number;
  /** How long the target server may take to start (default 120 s). */
  startTimeoutMs?: number;
  signal?: AbortSignal;
}

export async function moveServer(context: MoveContext, request: MoveRequest): Promise<MoveReport> {
  const t0 = performance.now();
  const { hub, signal } = context;
  if (request.from === request.to) throw new HubRequestError('from and to name the same server', 400);
  if (request.to === '') throw new HubRequestError('the target must be a named server (allow_named_servers)', 400);
  const source = await hub.getServer(request.user, request.from, signal);
  if (!source?.ready) throw new HubRequestError(`${serverLabel(request.user, request.from)} is not running: nothing to move`, 409);
  const sourceApi = userServerApi(context.publicUrl, source.url, context.token);
  const state = await snapshot(sourceApi, signal);

  const checkpointed = await checkpointServer(sourceApi, request.user, state, context.stores, { signal, timeoutMs: context.timeoutMs });
  if (checkpointed.failures.length > 0) {
    throw new MoveError(
      `the checkpoint before the move failed, nothing was moved: ${checkpointed.failures.map((f) => `${f.path ?? f.kernelId}: ${f.reason}`).join('; ')}`,
    );
  }

  let target = await hub.getServer(request.user, request.to, signal);
  const targetStarted = !target;
  if (!target) await hub.startServer(request.user, request.to, request.userOptions ?? {}, signal);
  target = await hub.waitReady(request.user, request.to, context.startTimeoutMs ?? 120_000, signal);
  const targetApi: ServerApi = userServerApi(context.publicUrl, target.url, context.token);
  await waitAnswering(targetApi, 30_000, signal);

  const sessions: MovedSession[] = [];
  for (const session of state.sessions.filter((s) => s.kernel)) {
    const s0 = performance.now();
    try {
      // With an object store the state goes through the notebook's store in the bucket (the two
      // servers may share nothing else); otherwise through the websockets.
      const store = context.stores.remote ? context.stores.storeDir(request.user, { path: session.path, kernelId: session.kernel!.id }) : undefined;
      const moved = await migrateSession({ from: sourceApi, to: targetApi, sessionId: session.id, signal, timeoutMs: context.timeoutMs, ...(store ? { store } : {}) });
      const verification = moved.migration.verification;
      sessions.push({
        path: session.path,
        sourceKernelId: moved.sourceKernelId,
        targetKernelId: moved.targetKernelId,
        ok: verification.ok,
        totals: { ...verification.totals },
        lost: verification.variables.filter((v) => v.outcome === 'lost').map((v) => v.name),
        totalMs: Math.round(performance.now() - s0),
      });
    } catch (error) {
      sessions.push({ path: session.path, sourceKernelId: session.kernel!.id, ok: false, error: (error as Error).message, totalMs: Math.round(performance.now() - s0) });
    }
  }
  const allMoved = sessions.every((s) => s.ok);
  let sourceStopped = false;
  if (allMoved && (request.stopSource ?? true)) {
    await hub.stopServer(request.user, request.from, signal);
    sourceStopped = true;
  }
  return {
    user: request.user,
    from: request.from,
    to: request.to,
    checkpoints: checkpointed.saved.map((s) => ({ path: s.path, checkpointId: s.checkpointId })),
    targetStarted,
    sessions,
    sourceStopped,
    totalMs: Math.round(performance.now() - t0),
  };
}
