/**
 * A pool of warm target kernels for platforms: started, shim attached, the usual modules imported
 * and the environment read, before any restore asks for one. A restore's wait for its target
 * (0.3–3.5 s of kernel start and imports, measured) becomes a take from the pool; the pool starts a
 * replacement in the background. A pooled kernel that died while idle is dropped, never handed out.
 */
import { cancellable, launchKernel, type Kernel, type LaunchOptions } from '@nbferry/kernel';
import { MigrationError } from './errors.js';
import { prepareTarget, type PreparedTarget } from './warm-up.js';

/** Modules a data-science kernel usually needs; each is imported if installed, skipped if not. */
export const DEFAULT_WARM_MODULES: readonly string[] = ['numpy', 'pandas'];

export interface WarmPoolOptions {
  /** Kernels kept ready (default 1). */
  size?: number;
  /** How each kernel is started; `outlive` makes handed-out kernels survive this process. */
  launch?: LaunchOptions;
  /** Imported in each kernel while it waits (default DEFAULT_WARM_MODULES). */
  modules?: readonly string[];
  /** A kernel is warm and waiting in the pool (e.g. for a platform's metrics). */
  onReady?: (warm: WarmKernel) => void;
  /** A kernel failed to start or to warm up; the pool tries again on the next take. */
  onError?: (error: unknown) => void;
}

export interface WarmKernel {
  kernel: Kernel;
  /** Pass to `restore` as `prepared`: no second shim injection, no second environment probe. */
  prepared: PreparedTarget;
}

/** The pool was closed: it hands out no more kernels. */
export class WarmPoolClosedError extends MigrationError {
  override name = 'WarmPoolClosedError';
  constructor() {
    super('the warm kernel pool is closed: it hands out no more kernels; create a new pool', 'WARM_POOL_CLOSED');
  }
}

type Started = { warm: WarmKernel } | { error: unknown };

export class WarmPool {
  readonly size: number;
  private readonly ready: WarmKernel[] = [];
  /** Kernels starting; each settles (never rejects) to a ready kernel or the error it failed with. */
  private readonly starting = new Set<Promise<Started>>();
  private closed = false;
  /** Takes waiting for a starting kernel: each needs one of its own. */
  private waiting = 0;

  constructor(private readonly options: WarmPoolOptions = {}) {
    this.size = Math.max(0, options.size ?? 1);
  }

  /** Kernels ready to hand out now. */
  get readyCount(): number {
    return this.ready.length;
  }

  /** Kernels being started (launch and warm-up) right now. */
  get startingCount(): number {
    return this.starting.size;
  }

  /** Starts kernels until `size` are ready or starting. */
  fill(): void {
    while (!this.closed && this.ready.length + this.starting.size < this.size) this.startOne();
  }

  /** Resolves once every kernel the pool is starting has settled (ready or failed). */
  async whenFilled(): Promise<void> {
    this.fill();
    while (this.starting.size > 0) await Promise.all(this.starting);
  }

  /**
   * A warm kernel, the caller's from now on (dispose or detach it). Takes a ready one, else waits
   * for one that is starting (starting one more when every starting kernel is already awaited by
   * another take); a replacement starts in the background. `refill: false` starts none: a caller
   * that is about to load into the kernels it took (fork) keeps the cores for that and calls
   * `fill()` when done.
   */
  async take(options: { signal?: AbortSignal; refill?: boolean } = {}): Promise<WarmKernel> {
    const refill = options.refill ?? true;
    for (;;) {
      if (this.closed) throw new WarmPoolClosedError();
      options.signal?.throwIfAborted();
      const warm = this.ready.shift();
      if (warm) {
        if (refill) this.fill();
        if (warm.kernel.client.isAlive) return warm;
        await warm.kernel.dispose().catch(() => {}); // died while idle: never hand it out
        continue;
      }
      if (this.starting.size <= this.waiting) this.startOne();
      const next = Promise.race(this.starting);
      this.waiting++;
      let started: Started;
      try {
        started = await cancellable<Started>({ signal: options.signal }, () => new Error('no timeout set'), abortError, (resolve) => {
          void next.then(resolve);
          return () => {};
        });
      } finally {
        this.waiting--;
      }
      // Nothing else on the way: the caller gets the launch error rather than an endless retry.
      if ('error' in started && this.ready.length === 0 && this.starting.size === 0) throw started.error;
    }
  }

  /**
   * A warm kernel if one is ready now, else undefined: never waits for one that is starting (the
   * caller launches its own then). Refills the pool in the background either way.
   */
  async takeReady(): Promise<WarmKernel | undefined> {
    if (this.closed) throw new WarmPoolClosedError();
    try {
      for (let warm = this.ready.shift(); warm; warm = this.ready.shift()) {
        if (warm.kernel.client.isAlive) return warm;
        await warm.kernel.dispose().catch(() => {}); // died while idle: never hand it out
      }
      return undefined;
    } finally {
      this.fill();
    }
  }

  /** Shuts down every kernel still in the pool (handed-out kernels are the caller's). */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.starting);
    await Promise.all(this.ready.splice(0).map((warm) => warm.kernel.dispose().catch(() => {})));
  }

  private startOne(): void {
    const started: Promise<Started> = this.launchWarm().then(
      async (warm) => {
        this.starting.delete(started);
        if (this.closed) {
          await warm.kernel.dispose().catch(() => {});
          return { error: new WarmPoolClosedError() };
        }
        this.ready.push(warm);
        this.options.onReady?.(warm);
        return { warm };
      },
      (error: unknown) => {
        this.starting.delete(started);
        this.options.onError?.(error);
        return { error };
      },
    );
    this.starting.add(started);
  }

  private async launchWarm(): Promise<WarmKernel> {
    const kernel = await launchKernel(this.options.launch);
    try {
      const prepared = await prepareTarget(kernel.client, this.options.modules ?? DEFAULT_WARM_MODULES);
      return { kernel, prepared };
    } catch (error) {
      await kernel.dispose().catch(() => {});
      throw error;
    }
  }
}

function abortError(reason: unknown): Error {
  return reason instanceof Error ? reason : new Error(String(reason));
}
