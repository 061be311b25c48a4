/**
 * The idle loop: like jupyterhub-idle-culler it polls the Hub for running servers and their
 * `last_activity`, but an idle server is suspended instead of only stopped:
 *
 *  1. idle for `idleTimeoutMs` (the Hub's last activity, and no kernel active or busy since):
 *     the user is warned (announce.ts) that the server will be suspended in `warnMs`;
 *  2. still idle then: every kernel is checkpointed into the user's stores and verified
 *     (checkpoint-server.ts), the list of suspended notebooks is written, then the Hub stops the
 *     server. A checkpoint that fails or does not verify keeps the server running; the log, the
 *     status endpoint and the user are told why, and it is tried again after another idle period;
 *  3. when the Hub reports the server ready again (the user came back), each suspended notebook is
 *     restored into a session at its path (restore-server.ts) and the user gets the report.
 *
 * Operations on one user run one at a time (a move and a suspend never overlap); different users'
 * operations run concurrently, so one slow checkpoint does not delay everyone's.
 */
import type { FastifyBaseLogger } from 'fastify';
import { announce, type AnnouncedBy } from './announce.js';
import { checkpointServer } from './checkpoint-server.js';
import { SuspendError, serverLabel } from './errors.js';
import type { HubApi, HubServer } from './hub-api.js';
import { IdleClock } from './idle-clock.js';
import { HubMetrics, type MoveTrigger } from './metrics.js';
import { moveServer, type MoveReport, type MoveRequest } from './move-server.js';
import { KernelPids, overThreshold, type MemoryPolicy, type MemoryReading } from './right-sizing.js';
import { describeRestore, restoreServer, type RestoredSession } from './restore-server.js';
import { answering, snapshot, userServerApi } from './user-server.js';
import type { SuspendRecord, UserStores } from './user-stores.js';

export interface SuspenderOptions {
  hub: HubApi;
  /** The Hub's public URL (the proxy), where user servers are reached: `https://hub.example.org/`. */
  publicUrl: string;
  /** The service's API token (JUPYTERHUB_API_TOKEN). */
  token: string;
  stores: UserStores;
  idleTimeoutMs: number;
  /** Time between the warning and the suspend (default 60 s). */
  warnMs?: number;
  /** How often to poll the Hub (default 60 s). */
  pollMs?: number;
  /** Bound on each of nbferry's requests to a kernel. */
  timeoutMs?: number;
  /** Right-sizing (right-sizing.ts); off when undefined. */
  memoryPolicy?: MemoryPolicy;
  log: FastifyBaseLogger;
  /** Operator metrics (default: a registry of its own, `suspender.metrics`). */
  metrics?: HubMetrics;
}

export type ServerPhase = 'active' | 'warned' | 'suspending' | 'suspended' | 'restoring' | 'moving' | 'stopped';

export interface ServerStatus {
  user: string;
  server: string;
  phase: ServerPhase;
  idleSince: string;
  warnedAt?: string;
  suspendAt?: string;
  /** How the last message reached the user. */
  announcedBy?: AnnouncedBy;
  lastError?: { at: string; code: string; message: string };
  lastSuspend?: { at: string; sessions: { path: string | null; checkpointId: string; totalBytes: number }[]; totalMs: number };
  lastRestore?: { at: string; ok: boolean; report: string; sessions: RestoredSession[] };
  lastMove?: MoveReport;
  /** The last time a kernel neared its memory limit, and what the service did. */
  lastRightSizing?: { at: string; kernels: MemoryReading[]; action: 'checkpointed' | 'moved' | 'failed'; error?: string };
}

interface Track {
  status: ServerStatus;
  clock: IdleClock;
  retryAfter?: number;
}

export class Suspender {
  private readonly tracks = new Map<string, Track>();
  private readonly userLocks = new Map<string, Promise<unknown>>();
  private readonly stopping = new AbortController();
  private timer: NodeJS.Timeout | undefined;
  private ticking: Promise<void> | undefined;
  private readonly warnMs: number;
  private readonly pollMs: number;
  private readonly pids = new KernelPids();
  /** Kernels checkpointed for memory, not again until they drop below the threshold. */
  private readonly overLimit = new Set<string>();
  readonly metrics: HubMetrics;

  constructor(private readonly options: SuspenderOptions) {
    this.warnMs = options.warnMs ?? 60_000;
    this.pollMs = options.pollMs ?? 60_000;
    this.metrics = options.metrics ?? new HubMetrics();
    this.metrics.phases = () => [...this.tracks.values()].map((t) => t.status.phase);
  }

  start(): void {
    const tick = () => {
      this.ticking = this.tick()
        .catch((error: unknown) => this.options.log.error({ err: error }, 'poll failed'))
        .finally(() => {
          if (!this.stopping.signal.aborted) this.timer = setTimeout(tick, this.pollMs);
        });
    };
    this.timer = setTimeout(tick, 0);
  }

  /** Stops polling and waits for operations in progress (aborting them). */
  async stop(): Promise<void> {
    this.stopping.abort(new Error('the service is stopping'));
    clearTimeout(this.timer);
    await this.ticking;
    await Promise.allSettled([...this.userLocks.values()]);
  }

  status(user?: string): ServerStatus[] {
    return [...this.tracks.values()].map((t) => t.status).filter((s) => user === undefined || s.user === user);
  }

  /** One look at every running server. */
  async tick(): Promise<void> {
    const signal = this.stopping.signal;
    const users = await this.options.hub.listUsers(signal);
    const running = new Set<string>();
    for (const user of users) {
      for (const server of Object.values(user.servers ?? {})) {
        running.add(key(user.name, server.name));
        if (!server.ready || this.userLocks.has(user.name)) continue;
        await this.look(user.name, server).catch((error: unknown) => {
          const track = this.track(user.name, server);
          this.fail(track, error, 'look');
        });
      }
    }
    for (const [k, track] of this.tracks) {
      if (!running.has(k) && !this.userLocks.has(track.status.user) && track.status.phase !== 'suspended') track.status.phase = 'stopped';
    }
  }

  /** Moves a session to another named server (one operation at a time per user). */
  move(request: MoveRequest): Promise<MoveReport> {
    return this.exclusive(request.user, async () => {
      const track = this.trackByName(request.user, request.from);
      track.status.phase = 'moving';
      const log = this.options.log.child({ user: request.user, from: request.from, to: request.to });
      log.info('moving the session');
      try {
        const report = await this.measuredMove('api', request);
        track.status.lastMove = report;
        track.status.phase = report.sourceStopped ? 'stopped' : 'active';
        track.clock.reset(Date.now());
        track.clock.touched(Date.now());
        log.info({ report }, report.sessions.every((s) => s.ok) ? 'session moved' : 'session move incomplete');
        return report;
      } catch (error) {
        track.status.phase = 'active';
        this.fail(track, error, 'move');
        throw error;
      }
    });
  }

  private async look(user: string, server: HubServer): Promise<void> {
    const track = this.track(user, server);
    const record = await this.options.stores.readRecord(user, server.name);
    if (record) {
      // Only once it answers through the proxy: a restore must not start against the Hub's own pages.
      if (await answering(userServerApi(this.options.publicUrl, server.url, this.options.token), this.stopping.signal)) {
        void this.exclusive(user, () => this.restore(track, server, record)).catch(() => {});
      }
      return;
    }
    if (track.status.phase === 'suspended' || track.status.phase === 'stopped') {
      // Started again without anything to restore (or after a move): a new idle period.
      track.status.phase = 'active';
      track.clock.reset(Date.now());
    }
    if (this.options.memoryPolicy && server.name !== this.options.memoryPolicy.moveTo?.server && (await this.rightSize(track, server))) return;
    const now = Date.now();
    const lastActivity = Date.parse(server.last_activity ?? '');
    if (track.clock.observe('hub', lastActivity)) this.userActive(track);
    track.status.idleSince = new Date(track.clock.since).toISOString();
    if (now - track.clock.since < this.options.idleTimeoutMs) return;
    if (track.retryAfter !== undefined && now < track.retryAfter) return;

    // The Hub says idle; the kernels may say otherwise (its activity can lag by minutes).
    const api = userServerApi(this.options.publicUrl, server.url, this.options.token);
    const state = await snapshot(api, this.stopping.signal);
    track.clock.touched(Date.now(), 'hub');
    const busy = state.kernels.some((k) => k.execution_state === 'busy');
    const moved = track.clock.observe('kernels', ...state.kernels.map((k) => Date.parse(k.last_activity ?? '')));
    if (busy || moved) {
      if (busy) track.clock.reset(Date.now());
      this.userActive(track);
      return;
    }
    if (track.status.phase !== 'warned') {
      const suspendAt = new Date(Date.now() + this.warnMs).toISOString();
      const idleMin = Math.max(1, Math.round((Date.now() - track.clock.since) / 60_000));
      track.status.announcedBy = await announce(
        api,
        {
          kind: 'cull',
          message:
            `This server has been idle for ${idleMin} min and will be suspended at ${suspendAt}: each notebook's kernel is checkpointed, ` +
            'verified and stopped, and comes back with its variables when you start the server again. Run a cell to keep it running.',
          deadline: suspendAt,
          kernels: state.kernels.map((k) => k.id),
        },
        state.sessions.map((s) => s.path),
        this.stopping.signal,
      );
      track.clock.touched(Date.now(), 'hub');
      track.status.phase = 'warned';
      track.status.warnedAt = new Date().toISOString();
      track.status.suspendAt = suspendAt;
      this.options.log.info({ user, server: server.name, suspendAt, announcedBy: track.status.announcedBy }, 'idle: user warned');
      return;
    }
    if (now < Date.parse(track.status.suspendAt!)) return;
    void this.exclusive(user, () => this.suspend(track, server)).catch(() => {});
  }

  /** Checks the server's kernels' memory; true when it started an operation on the server. */
  private async rightSize(track: Track, server: HubServer): Promise<boolean> {
    const policy = this.options.memoryPolicy!;
    const { user } = track.status;
    const api = userServerApi(this.options.publicUrl, server.url, this.options.token);
    const state = await snapshot(api, this.stopping.signal);
    track.clock.touched(Date.now(), 'hub');
    const pids: { kernelId: string; pid: number }[] = [];
    for (const kernel of state.kernels) {
      const attaching = !this.pids.known(kernel.id);
      const pid = await this.pids.pid(api, kernel.id, this.stopping.signal).catch(() => undefined);
      // Attaching talks to the kernel (its activity moves); reading /proc later does not.
      if (attaching) track.clock.touched(Date.now());
      if (pid !== undefined) pids.push({ kernelId: kernel.id, pid });
    }
    const over = await overThreshold(pids, policy);
    for (const kernel of state.kernels) if (!over.some((o) => o.kernelId === kernel.id)) this.overLimit.delete(kernel.id);
    const fresh = over.filter((o) => !this.overLimit.has(o.kernelId));
    if (fresh.length === 0) return false;
    for (const o of fresh) this.overLimit.add(o.kernelId);
    const log = this.options.log.child({ user, server: server.name });
    log.warn({ kernels: fresh }, policy.moveTo ? 'memory near its limit: moving the session' : 'memory near its limit: checkpointing');
    void this.exclusive(user, async () => {
      const at = new Date().toISOString();
      try {
        if (policy.moveTo) {
          track.status.phase = 'moving';
          const report = await this.measuredMove('memory', { user, from: server.name, to: policy.moveTo.server, userOptions: policy.moveTo.userOptions });
          track.status.lastMove = report;
          track.status.phase = report.sourceStopped ? 'stopped' : 'active';
          track.status.lastRightSizing = { at, kernels: fresh, action: 'moved' };
        } else {
          const result = await checkpointServer(api, user, await snapshot(api, this.stopping.signal), this.options.stores, {
            signal: this.stopping.signal,
            timeoutMs: this.options.timeoutMs,
          });
          if (result.failures.length > 0) throw new Error(result.failures.map((f) => `${f.path ?? f.kernelId}: ${f.reason}`).join('; '));
          track.status.lastRightSizing = { at, kernels: fresh, action: 'checkpointed' };
        }
        track.clock.touched(Date.now());
        log.info({ rightSizing: track.status.lastRightSizing }, 'right-sizing done');
      } catch (error) {
        track.status.phase = 'active';
        track.status.lastRightSizing = { at, kernels: fresh, action: 'failed', error: (error as Error).message };
        this.fail(track, error, 'right-size');
      }
    });
    return true;
  }

  /** A move, counted by outcome, timed, its lost variables counted. */
  private async measuredMove(trigger: MoveTrigger, request: MoveRequest): Promise<MoveReport> {
    const t0 = performance.now();
    try {
      const report = await moveServer({ ...this.options, signal: this.stopping.signal }, request);
      this.metrics.moves.inc({ trigger, outcome: report.sessions.every((s) => s.ok) ? 'moved' : 'incomplete' });
      this.metrics.moveSeconds.observe({ trigger }, (performance.now() - t0) / 1000);
      const lost = report.sessions.reduce((sum, s) => sum + (s.lost?.length ?? 0), 0);
      if (lost > 0) this.metrics.lostVariables.inc({ operation: 'move' }, lost);
      return report;
    } catch (error) {
      this.metrics.moves.inc({ trigger, outcome: 'failed' });
      throw error;
    }
  }

  private userActive(track: Track): void {
    if (track.status.phase === 'warned') {
      this.options.log.info({ user: track.status.user, server: track.status.server }, 'active again: suspend cancelled');
      track.status.phase = 'active';
      delete track.status.warnedAt;
      delete track.status.suspendAt;
    }
    track.status.idleSince = new Date(track.clock.since).toISOString();
  }

  private async suspend(track: Track, server: HubServer): Promise<void> {
    const { user } = track.status;
    const t0 = performance.now();
    const signal = this.stopping.signal;
    const log = this.options.log.child({ user, server: server.name });
    track.status.phase = 'suspending';
    const api = userServerApi(this.options.publicUrl, server.url, this.options.token);
    try {
      const state = await snapshot(api, signal);
      const result = await checkpointServer(api, user, state, this.options.stores, { signal, timeoutMs: this.options.timeoutMs });
      track.clock.touched(Date.now());
      if (result.failures.length > 0) throw new SuspendError(user, server.name, result.failures);
      const record: SuspendRecord = {
        user,
        serverName: server.name,
        suspendedAt: new Date().toISOString(),
        userOptions: server.user_options ?? {},
        sessions: result.saved,
      };
      // Written before the stop: a service that dies in between still restores on return.
      await this.options.stores.writeRecord(record);
      await this.options.hub.stopServer(user, server.name, signal);
      track.status.phase = 'suspended';
      track.status.lastSuspend = {
        at: record.suspendedAt,
        sessions: result.saved.map((s) => ({ path: s.path, checkpointId: s.checkpointId, totalBytes: s.totalBytes })),
        totalMs: Math.round(performance.now() - t0),
      };
      this.metrics.suspends.inc({ outcome: 'suspended' });
      this.metrics.suspendSeconds.observe((performance.now() - t0) / 1000);
      this.metrics.checkpointBytes.inc(result.saved.reduce((sum, s) => sum + s.totalBytes, 0));
      delete track.status.lastError;
      delete track.retryAfter;
      log.info({ sessions: track.status.lastSuspend.sessions, totalMs: track.status.lastSuspend.totalMs }, 'suspended: checkpointed, verified, server stopped');
    } catch (error) {
      this.metrics.suspends.inc({ outcome: 'failed' });
      track.status.phase = 'active';
      track.clock.touched(Date.now());
      // Tried again after another idle period, not at every poll.
      track.retryAfter = Date.now() + this.options.idleTimeoutMs;
      this.fail(track, error, 'suspend');
      const message = error instanceof SuspendError ? error.message : `${serverLabel(user, server.name)} was not suspended, it keeps running: ${(error as Error).message}`;
      track.status.announcedBy = await announce(api, { kind: 'info', message, deadline: null, kernels: null }, noticePaths(error), signal).catch(() => 'failed' as const);
      track.clock.touched(Date.now(), 'hub');
      throw error;
    }
  }

  private async restore(track: Track, server: HubServer, record: SuspendRecord): Promise<void> {
    const log = this.options.log.child({ user: record.user, server: record.serverName });
    track.status.phase = 'restoring';
    const api = userServerApi(this.options.publicUrl, server.url, this.options.token);
    try {
      const sessions = await restoreServer(api, record, { signal: this.stopping.signal, timeoutMs: this.options.timeoutMs });
      const ok = sessions.every((s) => s.ok);
      const report = describeRestore(sessions);
      for (const session of sessions) {
        this.metrics.restores.inc({ outcome: session.error !== undefined ? 'failed' : session.ok ? 'ok' : 'problems' });
        if (session.error === undefined && session.totalMs !== undefined) this.metrics.restoreSeconds.observe(session.totalMs / 1000);
        if (session.lost?.length) this.metrics.lostVariables.inc({ operation: 'restore' }, session.lost.length);
      }
      track.status.lastRestore = { at: new Date().toISOString(), ok, report, sessions };
      // A notebook that could not be restored (not one restored with problems: that is its report)
      // is tried again at the next poll, up to RESTORE_ATTEMPTS times; its checkpoint stays in the store.
      const attempts = (record.restoreAttempts ?? 0) + 1;
      if (sessions.some((s) => s.error !== undefined) && attempts < RESTORE_ATTEMPTS) {
        const failed = new Set(sessions.filter((s) => s.error !== undefined).map((s) => s.path));
        await this.options.stores.writeRecord({ ...record, sessions: record.sessions.filter((s) => s.path !== null && failed.has(s.path)), restoreAttempts: attempts });
      } else {
        await this.options.stores.removeRecord(record.user, record.serverName);
      }
      track.status.phase = 'active';
      track.clock.reset(Date.now());
      track.clock.touched(Date.now());
      (ok ? log.info.bind(log) : log.warn.bind(log))({ sessions }, ok ? 'restored on return' : 'restored on return, with problems');
      track.status.announcedBy = await announce(
        api,
        { kind: 'info', message: `Your kernels were restored from the checkpoints taken when this server was suspended:\n${report}`, deadline: null, kernels: null },
        record.sessions.map((s) => s.path),
        this.stopping.signal,
      );
      track.clock.touched(Date.now(), 'hub');
    } catch (error) {
      track.status.phase = 'active';
      this.fail(track, error, 'restore');
      throw error;
    }
  }

  private fail(track: Track, error: unknown, operation: string): void {
    const e = error as { code?: unknown; message?: unknown };
    track.status.lastError = { at: new Date().toISOString(), code: typeof e.code === 'string' ? e.code : 'ERROR', message: String(e.message ?? error) };
    this.options.log.error({ user: track.status.user, server: track.status.server, operation, code: track.status.lastError.code, err: error }, `${operation} failed`);
  }

  private track(user: string, server: HubServer): Track {
    // A server first seen now gets a whole idle period from now: the Hub's last_activity of a
    // server that took long to spawn (or of every server, after this service restarted) is older
    // than the user's chance to use it.
    return this.trackByName(user, server.name);
  }

  private trackByName(user: string, serverName: string, since = Date.now()): Track {
    const k = key(user, serverName);
    let track = this.tracks.get(k);
    if (!track) {
      const clock = new IdleClock(since);
      track = { clock, status: { user, server: serverName, phase: 'active', idleSince: new Date(since).toISOString() } };
      this.tracks.set(k, track);
    }
    return track;
  }

  private exclusive<T>(user: string, operation: () => Promise<T>): Promise<T> {
    const previous = this.userLocks.get(user) ?? Promise.resolve();
    const run = previous.then(operation, operation);
    const settled = run.catch(() => undefined);
    this.userLocks.set(user, settled);
    void settled.then(() => {
      if (this.userLocks.get(user) === settled) this.userLocks.delete(user);
    });
    return run;
  }
}

/** Where the user sees a failed suspend: beside the notebooks whose checkpoint failed. */
function noticePaths(error: unknown): (string | null)[] {
  return error instanceof SuspendError ? error.failures.map((f) => f.path ?? null) : [null];
}

const RESTORE_ATTEMPTS = 3;

function key(user: string, serverName: string): string {
  return `${user}/${serverName}`;
}
