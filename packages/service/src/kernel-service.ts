/**
 * The service's kernels and what it does with them, without HTTP: register (connection file or
 * Jupyter Server), checkpoint, restore or migrate into a fresh kernel on this machine, log, gc,
 * auto-checkpoint policy, preemption notice. Each kernel's checkpoints go to a store under
 * `storeRoot`, named after the kernel; a kernel restored or migrated from it continues that store
 * (and its history line). The root is a directory or an object store (`s3://bucket/prefix`: every
 * store in the bucket, chunks through the service, so kernels on other machines, e.g. behind a
 * Jupyter Server, checkpoint there and any node can restore them).
 */
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { checkpointOverWire, connectServerKernel, startServerKernel, type ServerKernel } from '@nbferry/jupyter-server';
import { countedStagedBuffers } from './counted-transfer.js';
import { attachKernel, type Kernel } from '@nbferry/kernel';
import { checkpoint, DEFAULT_WARM_MODULES, lastCheckpointOf, log, migrateLive, migrateToStandby, restore, WarmPool, type CheckpointBody, type GcResult, type LogEntry, type PreparedTarget, type ProgressListener, type RestoreReport, type WarmKernel } from '@nbferry/migrate';
import { Recorder } from '@nbferry/recorder';
import { LocalStore, openStore, storeScheme, type CheckpointStore } from '@nbferry/store';
import { freshKernel, preparedKernel, restoreToFreshKernel, type KernelFrom, type WarmSource } from './fresh-kernel.js';
import { BadRequestError, KernelIdTakenError, NoCheckpointError, NoticeInProgressError, UnknownKernelError, UnknownStoreError } from './errors.js';
import { Jobs } from './jobs.js';
import { historyOf, planOf, type HistoryEntry, type PlanView } from './kernel-views.js';
import { ServiceMetrics } from './metrics.js';
import { localProcessProbe, serverKernelProbe, type LivenessProbe } from './liveness.js';
import { checkedTargets, LOCAL_TARGET_ID, serverOf, targetViews, UnknownTargetError, type JupyterServerTarget, type MoveTarget, type TargetView } from './move-targets.js';
import { handleNotice, type NoticeReport } from './preemption.js';
import { RegisteredKernel, type KernelSource, type KernelState } from './registered-kernel.js';
import { StandbyKernel } from './standby-kernel.js';

export interface KernelServiceOptions {
  /** Where the kernels' stores live (one per store): a directory, or `s3://bucket/prefix`. */
  storeRoot: string;
  /** The Python (with ipykernel) of kernels the service starts for restores and migrations. */
  python: string;
  /** Working directory of restored kernels when the request gives none. */
  defaultCwd?: string;
  /** Bound on each of nbferry's own requests to a kernel (ms). */
  timeoutMs?: number;
  metrics?: ServiceMetrics;
  /** Where "move to…" may send a kernel besides a fresh kernel here (`nbferry serve --target`). */
  targets?: MoveTarget[];
  /**
   * Kernels kept warm (started with `python` in `defaultCwd`, shim attached, `modules` imported,
   * default DEFAULT_WARM_MODULES) for restores and migrations here: a request takes one when one is
   * ready and launches a kernel otherwise. Size 0 (default): no pool.
   */
  warmKernels?: {
    size: number;
    modules?: readonly string[];
    /** A warm kernel is ready in the pool (e.g. for a platform's logs; tests read its pid). */
    onReady?: (warm: WarmKernel) => void;
  };
  /**
   * Standbys (`nbferry serve --standby`): each kernel auto-checkpointing into a directory store (a
   * kernel on this machine) gets a second kernel that follows its checkpoints, so that a migration
   * here moves only what changed since the last one. Each costs a whole kernel's memory.
   */
  standby?: boolean;
}

export interface RegisterOptions {
  /** The kernel's name in this service (default: a new random one). Also its store's name. */
  id?: string;
  /** Continue an existing store (e.g. a kernel that was restored from it elsewhere). */
  store?: string;
  autoCheckpointIdleMs?: number;
}

export interface FreshKernelOptions {
  python?: string;
  cwd?: string;
  id?: string;
}

export interface MigrateOptions extends FreshKernelOptions {
  /** A configured move target's id (GET /targets); default a fresh kernel on this machine. */
  target?: string;
  /** With a Jupyter Server target: the kernel's directory there, relative to its root (default its root). */
  path?: string;
}

export interface RestoreOutcome {
  kernel: KernelState;
  /** The new kernel's connection file on this machine ('' when it runs on a target's Jupyter Server: see `server`). */
  connectionFile: string;
  /** The new kernel's Jupyter Server and id, when it was moved to a configured target. */
  server?: { target: string; url: string; kernelId: string };
  ok: boolean;
  totals: RestoreReport['verification']['totals'];
  timings: RestoreReport['timings'];
  lost: string[];
  /** Where the new kernel here came from: the warm pool, launched for this request, or the source's standby (absent on a target's Jupyter Server). */
  kernelFrom?: KernelFrom;
  /** With kernelFrom 'standby': the last catch-up, which moved only what changed since the one before. */
  standby?: StandbyCatchUp;
  /** The source had a standby that could not be used (why): the migration went into a fresh kernel instead. */
  standbyUnusable?: string;
}

export interface StandbyCatchUp {
  /** The source's last checkpoint, which the standby caught up with. */
  checkpointId: string;
  /** What the catch-up loaded (`load g3 (x, y)`) and reran (`run [4] ...`), in order. */
  loads: string[];
  reruns: string[];
  loadedBytes: number;
  /** Groups the standby already held unchanged (neither loaded nor rerun). */
  keptGroups: number;
  /** Names bound only after that checkpoint's predecessor: deleted. */
  deleted: string[];
  checkpointMs: number;
  syncMs: number;
}

const SAFE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

export class KernelService {
  readonly metrics: ServiceMetrics;
  /** Operations started with `?async=1`. */
  readonly jobs = new Jobs();
  private readonly kernels = new Map<string, RegisteredKernel>();
  /** Ids of registrations still attaching: taken, as registered ones are. */
  private readonly registering = new Set<string>();
  private readonly targetList: MoveTarget[];
  /** Warm kernels for restores and migrations here (`warmKernels`). */
  private readonly warm?: WarmSource;
  private notice?: Promise<NoticeReport>;
  lastNotice?: NoticeReport;

  /** The root is an object store: stores are `<storeRoot>/<name>` in its bucket. */
  readonly remote: boolean;
  private readonly root: string;

  constructor(readonly options: KernelServiceOptions) {
    const scheme = storeScheme(options.storeRoot);
    this.remote = scheme !== undefined && scheme !== 'file';
    this.root = scheme === 'file' ? fileURLToPath(options.storeRoot) : this.remote ? options.storeRoot.replace(/\/+$/, '') : options.storeRoot;
    this.metrics = options.metrics ?? new ServiceMetrics();
    this.targetList = checkedTargets(options.targets ?? []);
    this.metrics.kernelCounts = () => ({ registered: this.kernels.size, protected: [...this.kernels.values()].filter((k) => k.isProtected).length });
    this.metrics.standbysRunning = () => [...this.kernels.values()].filter((k) => k.hasRunningStandby).length;
    const warmKernels = options.warmKernels;
    if (warmKernels && warmKernels.size > 0) {
      const failed = () => this.metrics.failures.inc({ operation: 'warm_kernel' });
      // Started as the service starts its own kernels (and, like them, outliving the service once handed out).
      const pool = new WarmPool({ size: warmKernels.size, modules: warmKernels.modules, launch: this.launchOptions({}), onReady: warmKernels.onReady, onError: failed });
      this.warm = { pool, python: options.python, onUnusable: failed };
      this.metrics.warmKernelsReady = () => pool.readyCount;
      pool.fill();
    }
  }

  /** The warm pool, when `warmKernels` asked for one (e.g. to wait for it to fill: `whenFilled`). */
  get warmPool(): WarmPool | undefined {
    return this.warm?.pool;
  }

  list(): KernelState[] {
    return [...this.kernels.values()].map((k) => k.state());
  }

  get(id: string): RegisteredKernel {
    const kernel = this.kernels.get(id);
    if (!kernel) throw new UnknownKernelError(id);
    return kernel;
  }

  async registerConnectionFile(connectionFile: string, options: RegisterOptions = {}): Promise<KernelState> {
    return this.register({ kind: 'connection-file', connectionFile }, options, async () => {
      const kernel = await attachKernel(connectionFile, { timeoutMs: this.options.timeoutMs });
      return { client: kernel.client, release: () => kernel.detach(), probe: (pid) => localProcessProbe(kernel.client, pid) };
    });
  }

  async registerServerKernel(baseUrl: string, token: string, kernelId: string, options: RegisterOptions = {}): Promise<KernelState> {
    return this.register({ kind: 'jupyter-server', baseUrl, kernelId }, options, async () => {
      const kernel = await connectServerKernel({ baseUrl, token }, kernelId, { timeoutMs: this.options.timeoutMs });
      return { client: kernel.client, release: () => kernel.detach(), probe: () => serverKernelProbe(kernel.client, { baseUrl, token }, kernelId) };
    });
  }

  private async register(
    source: KernelSource,
    options: RegisterOptions,
    connect: () => Promise<{ client: Kernel['client']; release: () => Promise<void>; probe: (pid: number) => LivenessProbe }>,
  ): Promise<KernelState> {
    const id = this.newId(options.id);
    // Held from now on, not only once attached: a second registration of the same kernel meanwhile
    // would attach a second recorder and replace this one.
    return this.holding(id, async () => {
      const { client, release, probe } = await connect();
      const recorder = await Recorder.attach(client, { timeoutMs: this.options.timeoutMs }).catch(async (error: unknown) => {
        await release().catch(() => {});
        throw error;
      });
      const kernel = await this.add(id, source, recorder, options.store ?? id, release, probe(recorder.hello.pid)).catch(async (error: unknown) => {
        await release().catch(() => {});
        throw error;
      });
      if (options.autoCheckpointIdleMs !== undefined) {
        await kernel.setAutoCheckpoint(options.autoCheckpointIdleMs).catch(async (error: unknown) => {
          this.kernels.delete(id); // registered whole or not at all
          await kernel.close().catch(() => {});
          throw error;
        });
        kernel.catchUp();
      }
      return kernel.state();
    }).catch((error: unknown) => {
      this.metrics.failures.inc({ operation: 'register' });
      throw error;
    });
  }

  /**
   * Runs `work` with the new kernel's id (from newId) held until it ends: newId refuses it
   * meanwhile, so no other request takes the id that a registration, restore or migration
   * registers its kernel under at the end of its work.
   */
  private async holding<T>(id: string, work: () => Promise<T>): Promise<T> {
    this.registering.add(id);
    try {
      return await work();
    } finally {
      this.registering.delete(id);
    }
  }

  private newId(requested: string | undefined): string {
    if (requested === undefined) return randomUUID().slice(0, 8);
    if (!SAFE_NAME.test(requested)) throw new BadRequestError(`kernel id ${JSON.stringify(requested)}: use 1-64 letters, digits, '.', '_' or '-'`);
    if (this.kernels.has(requested) || this.registering.has(requested)) throw new KernelIdTakenError(requested, !this.kernels.has(requested));
    return requested;
  }

  /** Where the store `name` is (a directory, or an `s3://` URL). */
  storeLocation(name: string): string {
    return this.remote ? `${this.root}/${name}` : join(this.root, name);
  }

  private openNamed(name: string): Promise<CheckpointStore> {
    return this.remote ? openStore(this.storeLocation(name)) : Promise.resolve(new LocalStore(this.storeLocation(name)));
  }

  private async add(id: string, source: KernelSource, recorder: Recorder, storeName: string, release: () => Promise<void>, probe: LivenessProbe): Promise<RegisteredKernel> {
    if (!SAFE_NAME.test(storeName)) throw new BadRequestError(`store name ${JSON.stringify(storeName)}: use 1-64 letters, digits, '.', '_' or '-'`);
    const store = await this.openNamed(storeName);
    // Never replace a registered kernel (the callers hold their id, see `holding`: a guard).
    if (this.kernels.has(id)) {
      store.close?.();
      throw new KernelIdTakenError(id, false);
    }
    const kernel = new RegisteredKernel(id, source, recorder, store, storeName, this.metrics, release, probe);
    if (this.options.standby) kernel.startStandby = (local) => this.startStandby(kernel, local);
    this.kernels.set(id, kernel);
    return kernel;
  }

  /**
   * A standby for `kernel`, starting in the background: a ready warm kernel if the pool has one,
   * else launched and prepared as the pool's, in the kernel's working directory when it exists here.
   */
  private startStandby(kernel: RegisteredKernel, store: LocalStore): StandbyKernel {
    const launch = this.launchOptions({ cwd: existsSync(kernel.recorder.hello.cwd) ? kernel.recorder.hello.cwd : undefined });
    const placement = { python: launch.python, cwd: resolve(launch.cwd ?? process.cwd()) };
    const modules = this.options.warmKernels?.modules ?? DEFAULT_WARM_MODULES;
    const failed = () => this.metrics.failures.inc({ operation: 'standby' });
    return new StandbyKernel(placement, (signal) => preparedKernel({ ...launch, signal }, this.warm, modules), store, failed, this.options.timeoutMs);
  }

  /** Lets go of a kernel (it keeps running); its store stays. */
  async unregister(id: string): Promise<void> {
    const kernel = this.get(id);
    this.kernels.delete(id);
    await kernel.close();
  }

  /** The stores under storeRoot (a suspended session's store outlives its kernel). */
  async stores(): Promise<string[]> {
    if (this.remote) {
      const root = (await openStore(this.root)) as CheckpointStore & { childNames?: () => Promise<string[]> };
      try {
        if (typeof root.childNames !== 'function') throw new BadRequestError(`the store root ${this.root} cannot list its stores`);
        return (await root.childNames()).filter((name) => SAFE_NAME.test(name));
      } finally {
        root.close?.();
      }
    }
    const entries = await readdir(this.root, { withFileTypes: true }).catch(() => []);
    return entries.filter((e) => e.isDirectory() && SAFE_NAME.test(e.name)).map((e) => e.name).sort();
  }

  /** An existing store by name (the caller closes it). */
  async store(name: string): Promise<CheckpointStore> {
    if (!SAFE_NAME.test(name)) throw new UnknownStoreError(name);
    if (!this.remote) {
      if (!existsSync(join(this.root, name))) throw new UnknownStoreError(name);
      return new LocalStore(join(this.root, name));
    }
    const store = await this.openNamed(name);
    // In a bucket a store exists once something was committed to it.
    if ((await store.list()).length === 0) {
      store.close?.();
      throw new UnknownStoreError(name);
    }
    return store;
  }

  /** Runs `work` on the named store and closes it. */
  private async withStore<T>(name: string, work: (store: CheckpointStore) => Promise<T>): Promise<T> {
    const store = await this.store(name);
    try {
      return await work(store);
    } finally {
      store.close?.();
    }
  }

  /**
   * Restores a checkpoint of a store (default the latest) into a new kernel started here, and
   * registers it; it continues that store. The kernel that wrote it may be gone (a suspended session).
   */
  async restore(storeName: string, checkpointId: string | undefined, fresh: FreshKernelOptions = {}, onProgress?: ProgressListener): Promise<RestoreOutcome> {
    const newId = this.newId(fresh.id);
    return this.holding(newId, async () => {
      const t0 = performance.now();
      const { kernel, report, from } = await this.withStore(storeName, async (store) => {
        const stored = await store.open<CheckpointBody>(checkpointId);
        return restoreToFreshKernel(stored, this.launchOptions(fresh), this.warm, { timeoutMs: this.options.timeoutMs, onProgress });
      });
      try {
        const source: KernelSource = { kind: 'started', connectionFile: kernel.connectionFile, from: `store:${storeName}` };
        const outcome = await this.adopt(newId, source, storeName, report, 'restore', t0, () => kernel.detach(), localProcessProbe(kernel.client, report.recorder.hello.pid));
        this.metrics.freshKernels.inc({ source: from });
        return { ...outcome, connectionFile: kernel.connectionFile, kernelFrom: from };
      } catch (error) {
        await kernel.dispose().catch(() => {}); // not registered: nobody would ever stop it
        throw error;
      }
    }).catch((error: unknown) => {
      this.metrics.failures.inc({ operation: 'restore' });
      throw error;
    });
  }

  /** Where "move to…" can go: a fresh kernel here, then the configured targets. */
  targets(): TargetView[] {
    return targetViews(this.targetList);
  }

  /**
   * Moves the kernel's state into a new kernel, verifies it and registers it: started here (no
   * target), or on a configured target's Jupyter Server. The source keeps running: the caller
   * stops it once it has seen the report. A kernel started here runs in the source's working
   * directory when that exists here.
   *
   * Live by default (no store in between). With `throughStore` (a store name under the root, e.g.
   * the source's own), the source is checkpointed into that store and the new kernel (started
   * here) restored from that checkpoint: with an `s3://` root the move goes through the object
   * store (the source may be on another machine; the checkpoint stays, and the new kernel
   * continues that store).
   */
  async migrate(id: string, options: MigrateOptions = {}, onProgress?: ProgressListener, throughStore?: string): Promise<RestoreOutcome> {
    const source = this.get(id);
    const { target: targetId, path, ...fresh } = options;
    const target = targetId === undefined || targetId === LOCAL_TARGET_ID ? undefined : this.targetList.find((t) => t.id === targetId);
    if (targetId !== undefined && targetId !== LOCAL_TARGET_ID && !target) throw new UnknownTargetError(targetId);
    const newId = this.newId(fresh.id);
    if (throughStore !== undefined && !SAFE_NAME.test(throughStore)) throw new BadRequestError(`store name ${JSON.stringify(throughStore)}: use 1-64 letters, digits, '.', '_' or '-'`);
    if (target && throughStore !== undefined) throw new BadRequestError(`a move to target ${target.id} goes over its Jupyter Server's websocket: leave out store`);
    // The id is held for the whole move: a registration taking it meanwhile would fail the move at its end.
    return this.holding(newId, async () => {
      if (target) return this.migrateToServer(source, newId, target, path, onProgress);
      const cwd = fresh.cwd ?? (existsSync(source.recorder.hello.cwd) ? source.recorder.hello.cwd : undefined);
      const t0 = performance.now();
      // A move here without a store in between goes into the source's standby when it can; else (and
      // when it fails) as without one. A standby is never a reason to fail the request.
      const launch = this.launchOptions({ ...fresh, cwd });
      // A request for another Python or directory leaves the standby with the source.
      let standbyUnusable = throughStore === undefined ? source.standbyKernel?.placedElsewhere(launch) : undefined;
      const standby = throughStore === undefined && standbyUnusable === undefined ? source.takeStandby() : undefined;
      if (standby) {
        const moved = await this.migrateIntoStandby(source, newId, standby, t0, onProgress);
        if (typeof moved !== 'string') return moved;
        standbyUnusable = moved;
      }
      const { kernel: started, prepared, from } = await freshKernel(launch, this.warm);
      try {
        const call = { timeoutMs: this.options.timeoutMs, onProgress };
        const report =
          throughStore === undefined
            ? await source.exclusive(() => migrateLive(source.recorder, started.client, { ...call, prepared, blobTransfer: (buffers) => countedStagedBuffers(buffers, onProgress) }))
            : await this.throughStore(source, throughStore, started.client, { ...call, prepared });
        const kernelSource: KernelSource = { kind: 'started', connectionFile: started.connectionFile, from: id };
        const outcome = await this.adopt(newId, kernelSource, throughStore ?? source.storeName, report, 'migrate', t0, () => started.detach(), localProcessProbe(started.client, report.recorder.hello.pid));
        this.metrics.freshKernels.inc({ source: from });
        return { ...outcome, connectionFile: started.connectionFile, kernelFrom: from, ...(standbyUnusable !== undefined ? { standbyUnusable } : {}) };
      } catch (error) {
        this.metrics.failures.inc({ operation: 'migrate' });
        await started.dispose().catch(() => {});
        throw error;
      }
    });
  }

  /**
   * Migrates `source` into its standby: one more checkpoint of it into its store (only what changed
   * since its last one), the standby catches up with it and is registered as the new kernel.
   * Returns why the standby could not be used instead (it is shut down then): never synced, its
   * last catch-up failed, its kernel is gone, or the migration into it failed.
   */
  private async migrateIntoStandby(source: RegisteredKernel, newId: string, standby: StandbyKernel, t0: number, onProgress?: ProgressListener): Promise<RestoreOutcome | string> {
    const unusable = await standby.unusable();
    const follower = standby.follower;
    if (unusable !== undefined || !follower) {
      await standby.close();
      return unusable ?? 'its kernel is still starting';
    }
    let moved: Awaited<ReturnType<typeof migrateToStandby>>;
    try {
      // No auto-checkpoint beside this one: it would race it into the same store.
      moved = await source.exclusive(() => source.withoutAutoCheckpoint(() => migrateToStandby(source.recorder, follower, { timeoutMs: this.options.timeoutMs, onProgress })));
    } catch (error) {
      this.metrics.failures.inc({ operation: 'standby' });
      await standby.close();
      return `the migration into it failed (${error instanceof Error ? error.message : String(error)})`;
    }
    const kernel = standby.release();
    if (!kernel) return 'it was shut down during the migration';
    const { report, checkpoint: saved, timings } = moved;
    try {
      const kernelSource: KernelSource = { kind: 'started', connectionFile: kernel.connectionFile, from: source.id };
      const outcome = await this.adopt(newId, kernelSource, source.storeName, report, 'migrate', t0, () => kernel.detach(), localProcessProbe(kernel.client, report.recorder.hello.pid));
      this.metrics.freshKernels.inc({ source: 'standby' });
      const catchUp: StandbyCatchUp = {
        checkpointId: saved.checkpoint.manifest.id,
        loads: report.steps.filter((s) => s.label.startsWith('load ')).map((s) => s.label),
        reruns: report.steps.filter((s) => s.label.startsWith('run ')).map((s) => s.label),
        loadedBytes: report.loadedBytes ?? 0,
        keptGroups: report.keptGroups?.length ?? 0,
        deleted: report.deleted,
        checkpointMs: Math.round(timings.checkpointMs),
        syncMs: Math.round(timings.syncMs),
      };
      return { ...outcome, connectionFile: kernel.connectionFile, kernelFrom: 'standby', standby: catchUp };
    } catch (error) {
      // Not registered: nobody would ever stop it.
      this.metrics.failures.inc({ operation: 'migrate' });
      await kernel.dispose().catch(() => {});
      throw error;
    }
  }

  /**
   * A kernel started on the target's Jupyter Server, the state moved live over its websocket
   * (blobs staged in chunks: the machines share no directory), verified, then registered here as
   * a Jupyter Server kernel on the same store. On failure the new kernel is shut down.
   */
  private async migrateToServer(source: RegisteredKernel, newId: string, target: JupyterServerTarget, path: string | undefined, onProgress?: ProgressListener): Promise<RestoreOutcome> {
    const server = await serverOf(target);
    const t0 = performance.now();
    let started: ServerKernel | undefined;
    try {
      started = await startServerKernel(server, { name: target.kernelName, path: path ?? '' }, { timeoutMs: this.options.timeoutMs });
      const client = started.client;
      const report = await source.exclusive(() =>
        migrateLive(source.recorder, client, { timeoutMs: this.options.timeoutMs, onProgress, blobTransfer: (buffers) => countedStagedBuffers(buffers, onProgress) }),
      );
      const kernelId = started.kernelId;
      const detach = started.detach.bind(started);
      const kernelSource: KernelSource = { kind: 'jupyter-server', baseUrl: server.baseUrl, kernelId };
      const outcome = await this.adopt(newId, kernelSource, source.storeName, report, 'migrate', t0, detach, serverKernelProbe(client, server, kernelId));
      return { ...outcome, connectionFile: '', server: { target: target.id, url: server.baseUrl, kernelId } };
    } catch (error) {
      this.metrics.failures.inc({ operation: 'migrate' });
      await started?.shutdown().catch(() => {});
      throw error;
    }
  }

  /** Checkpoints `source` into the named store (a new checkpoint, never lossy) and restores it into `target`. */
  private async throughStore(source: RegisteredKernel, storeName: string, target: Kernel['client'], call: { timeoutMs?: number; onProgress?: ProgressListener; prepared?: PreparedTarget }): Promise<RestoreReport> {
    const store = await this.openNamed(storeName);
    try {
      const { prepared: _prepared, ...checkpointCall } = call;
      const options = { ...checkpointCall, refuseLoss: true };
      // As RegisteredKernel's checkpoints: a kernel elsewhere cannot write this machine's directory.
      const saved = await source.exclusive(() =>
        source.source.kind === 'jupyter-server' && store instanceof LocalStore ? checkpointOverWire(source.recorder, store, options) : checkpoint(source.recorder, store, options),
      );
      const stored = await store.open<CheckpointBody>(saved.checkpoint.manifest.id);
      return await restore(stored, target, call);
    } finally {
      store.close?.();
    }
  }

  private launchOptions(fresh: FreshKernelOptions) {
    return { python: fresh.python ?? this.options.python, cwd: fresh.cwd ?? this.options.defaultCwd, outlive: true, timeoutMs: this.options.timeoutMs };
  }

  private async adopt(
    newId: string,
    source: KernelSource,
    storeName: string,
    report: RestoreReport,
    operation: 'restore' | 'migrate',
    t0: number,
    release: () => Promise<void>,
    probe: LivenessProbe,
  ): Promise<Omit<RestoreOutcome, 'connectionFile'>> {
    this.metrics.restoreSeconds.observe({ operation }, (performance.now() - t0) / 1000);
    const lost = report.verification.variables.filter((v) => v.outcome === 'lost').map((v) => v.name);
    if (lost.length > 0) this.metrics.lostVariables.inc({ operation }, lost.length);
    const adopted = await this.add(newId, source, report.recorder, storeName, release, probe);
    return { kernel: adopted.state(), ok: report.verification.ok, totals: report.verification.totals, timings: report.timings, lost };
  }

  /** The checkpoints of the kernel's store, newest first. */
  history(id: string): Promise<HistoryEntry[]> {
    return historyOf(this.get(id).store);
  }

  /**
   * The plan of the checkpoint the kernel's state is at (its last checkpoint, or the one an undo or
   * checkout brought it to), else the store's latest.
   */
  async plan(id: string): Promise<PlanView> {
    const kernel = this.get(id);
    const checkpointId = lastCheckpointOf(kernel.recorder, kernel.store.root)?.id ?? kernel.lastCheckpoint?.id ?? (await kernel.store.latestId());
    if (checkpointId === undefined) throw new NoCheckpointError(id);
    return planOf(kernel.store, checkpointId);
  }

  log(storeName: string): Promise<LogEntry[]> {
    return this.withStore(storeName, (store) => log(store));
  }

  async gc(storeName: string, keep: number | undefined, keepWithinMs: number | undefined): Promise<GcResult> {
    if (keep === undefined && keepWithinMs === undefined) throw new BadRequestError('gc needs keep and/or keepWithinSeconds (the latest checkpoint is always kept)');
    try {
      return await this.withStore(storeName, (store) => store.collectGarbage({ keep, keepWithin: keepWithinMs }));
    } catch (error) {
      this.metrics.failures.inc({ operation: 'gc' });
      throw error;
    }
  }

  /** Handles a preemption notice (one at a time: a second one while the first runs is refused). */
  async handleNotice(deadlineSeconds: number): Promise<NoticeReport> {
    if (this.notice) throw new NoticeInProgressError();
    this.notice = handleNotice([...this.kernels.values()], deadlineSeconds);
    try {
      this.lastNotice = await this.notice;
      return this.lastNotice;
    } finally {
      this.notice = undefined;
    }
  }

  /** Lets go of every kernel (they keep running) and shuts down the warm pool's idle kernels. */
  async close(): Promise<void> {
    const kernels = [...this.kernels.values()];
    this.kernels.clear();
    await Promise.all([...kernels.map((k) => k.close().catch(() => {})), this.warm?.pool.close()]);
  }
}
