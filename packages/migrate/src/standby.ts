/**
 * A standby target: a running kernel that follows a source kernel's checkpoints in a local store
 * (its auto-checkpoints), so that migrating to it moves only what changed since it last caught
 * up, as live VM migration copies memory ahead and sends the last dirty pages at the switch.
 *
 * Each catch-up is a checkout of the newest checkpoint into the standby (checkout.ts): groups the
 * standby provably holds unchanged stay, the others load (or rerun), names gone are deleted, and
 * everything is verified. Catch-ups run one at a time in the background; a newer checkpoint
 * offered meanwhile replaces any not yet started. `migrateToStandby` checkpoints the source once
 * more (incremental: only what changed since its last checkpoint is measured and written) and
 * brings the standby to that checkpoint.
 *
 * The standby runs no user code while it follows: it is the user's kernel only after the
 * migration (until then a cell run on it would make its next catch-up reload what the cell wrote).
 */
import type { CallOptions } from '@nbferry/kernel';
import type { Recorder } from '@nbferry/recorder';
import type { LocalStore } from '@nbferry/store';
import { checkout, type CheckoutOptions, type CheckoutReport } from './checkout.js';
import { checkpoint, type CheckpointOptions, type CheckpointResult } from './checkpoint.js';

export interface StandbyOptions {
  /** How each catch-up restores (verification, trust); its signal and timeout are the standby's. */
  checkout?: Omit<CheckoutOptions, 'signal'>;
  /** A background catch-up failed (the next offer tries again from wherever the standby is). */
  onError?: (error: unknown, checkpointId: string) => void;
}

export class Standby {
  private wanted?: string;
  private synced?: string;
  private failure?: unknown;
  /** Catch-ups run one after another on this chain (never rejects). */
  private tail: Promise<void> = Promise.resolve();
  private scheduled = false;

  /** `target`: the standby kernel's recorder (e.g. a warm pool's `prepared.recorder`). */
  constructor(
    readonly target: Recorder,
    readonly store: LocalStore,
    private readonly options: StandbyOptions = {},
  ) {}

  /** The checkpoint the standby holds, verified (undefined before its first catch-up). */
  get syncedId(): string | undefined {
    return this.synced;
  }

  /** The last catch-up's error, cleared by the next one that succeeds. */
  get lastError(): unknown {
    return this.failure;
  }

  /**
   * Asks the standby to catch up with `checkpointId` (a checkpoint of the store) in the background,
   * e.g. from an AutoCheckpointer's `onCheckpoint`. Returns at once; a catch-up not yet started
   * goes to the newest checkpoint offered.
   */
  offer(checkpointId: string): void {
    this.wanted = checkpointId;
    if (this.scheduled) return;
    this.scheduled = true;
    this.tail = this.tail.then(async () => {
      this.scheduled = false;
      const id = this.wanted;
      this.wanted = undefined;
      if (id === undefined || id === this.synced) return;
      try {
        await this.catchUp(id, {});
      } catch (error) {
        this.options.onError?.(error, id);
      }
    });
  }

  /** Resolves when no catch-up is running or queued (never rejects: see lastError). */
  async idle(): Promise<void> {
    let tail: Promise<void>;
    do {
      tail = this.tail;
      await tail;
    } while (tail !== this.tail);
  }

  /** Brings the standby to `checkpointId`, after any catch-up in progress (one not yet started is dropped: this one is newer). */
  sync(checkpointId: string, call: CallOptions = {}): Promise<CheckoutReport> {
    this.wanted = undefined;
    const run = this.tail.then(() => this.catchUp(checkpointId, call));
    this.tail = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }

  private async catchUp(checkpointId: string, call: CallOptions): Promise<CheckoutReport> {
    try {
      const report = await checkout(this.target, this.store, checkpointId, { ...this.options.checkout, ...call });
      this.synced = report.verification.ok ? checkpointId : undefined;
      this.failure = undefined;
      return report;
    } catch (error) {
      this.synced = undefined;
      this.failure = error;
      throw error;
    }
  }
}

export interface StandbyMigration {
  /** The source's last checkpoint (into the standby's store). */
  checkpoint: CheckpointResult;
  /** The standby's catch-up to it: what it loaded, reran, kept and deleted, and the verification. */
  report: CheckoutReport;
  timings: { checkpointMs: number; syncMs: number; totalMs: number };
}

/**
 * Migrates `source` to `standby`: one more checkpoint of the source into the standby's store (only
 * what changed since its last one), then the standby catches up with it. The source is only read;
 * the caller stops it once it has seen the report.
 */
export async function migrateToStandby(source: Recorder, standby: Standby, options: Omit<CheckpointOptions, 'pipeline'> = {}): Promise<StandbyMigration> {
  const t0 = performance.now();
  const saved = await checkpoint(source, standby.store, options);
  const t1 = performance.now();
  const report = await standby.sync(saved.checkpoint.manifest.id, { signal: options.signal, timeoutMs: options.timeoutMs });
  const t2 = performance.now();
  return { checkpoint: saved, report, timings: { checkpointMs: t1 - t0, syncMs: t2 - t1, totalMs: t2 - t0 } };
}
