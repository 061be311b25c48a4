/**
 * A preemption notice (a spot eviction, a node drain): checkpoint every registered kernel that is
 * not already protected, most valuable first, each in deadline mode within what is left of the
 * notice, and report what made it. Checkpoints run one after another: on a node about to go, two
 * kernels pickling at once finish both later than one after the other, and the first one is the
 * one that matters most.
 *
 * A kernel busy in a cell when the notice arrives goes last: its checkpoint can only start once the
 * cell ends (the kernel answers one request at a time), and waiting for it would stall the others.
 * A kernel that is not running any more (killed, its Jupyter Server gone with its pod) is asked
 * nothing: it fails at once, and one that dies during its checkpoint is given up within a probe
 * interval, so neither holds up the kernels after it until the deadline.
 *
 * Value = recompute time saved per byte written: the run time of the cells since the kernel's last
 * checkpoint (what a cold restart would have to redo) over the bytes the checkpoint is expected to
 * write (the kernel's resident memory when it runs here, else its last checkpoint's size, else
 * 1 GiB). A rough estimate that needs no request to the kernel: the notice's seconds go to saving.
 */
import type { KernelClient } from '@nbferry/kernel';
import { lastCheckpointOf } from '@nbferry/migrate';
import type { CheckpointSummary, RegisteredKernel } from './registered-kernel.js';

export interface NoticeOutcome {
  id: string;
  /** 1 = checkpointed first. */
  order: number;
  recomputeSec: number;
  estimatedBytes: number;
  /** Running a cell when the notice arrived (checkpointed after the idle ones). */
  busy: boolean;
  /**
   * saved: committed before the deadline (see `checkpoint.unrecoverable` for what it could not
   * keep); protected: its latest checkpoint already held its state, nothing to write; missed: the
   * deadline passed before or while it was written (nothing of it committed); failed: see `error`.
   */
  outcome: 'saved' | 'protected' | 'missed' | 'failed';
  checkpoint?: CheckpointSummary;
  error?: string;
  /** Milliseconds from the notice to this kernel's outcome. */
  atMs: number;
}

export interface NoticeReport {
  deadlineSeconds: number;
  receivedAt: string;
  elapsedMs: number;
  /** Every kernel saved or already protected, nothing unrecoverable. */
  allSafe: boolean;
  kernels: NoticeOutcome[];
}

const UNKNOWN_SIZE = 1024 ** 3;

export async function handleNotice(kernels: readonly RegisteredKernel[], deadlineSeconds: number): Promise<NoticeReport> {
  const receivedAt = new Date().toISOString();
  const t0 = performance.now();
  const deadlineAt = t0 + deadlineSeconds * 1000;
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(new Error(`the ${deadlineSeconds} s preemption notice ran out`)), deadlineSeconds * 1000);
  try {
    const ranked = (await Promise.all(kernels.map(async (kernel) => ({ kernel, busy: await busyInCell(kernel.recorder.client), ...(await estimate(kernel)) })))).sort(
      (a, b) =>
        Number(a.busy) - Number(b.busy) || b.recomputeSec / b.estimatedBytes - a.recomputeSec / a.estimatedBytes || a.estimatedBytes - b.estimatedBytes,
    );
    const outcomes: NoticeOutcome[] = [];
    for (const [index, { kernel, busy, recomputeSec, estimatedBytes }] of ranked.entries()) {
      const base = { id: kernel.id, order: index + 1, recomputeSec, estimatedBytes, busy };
      const remainingMs = deadlineAt - performance.now();
      if (kernel.isProtected) {
        outcomes.push({ ...base, outcome: 'protected', atMs: Math.round(performance.now() - t0) });
      } else if (remainingMs <= 0 || controller.signal.aborted) {
        outcomes.push({ ...base, outcome: 'missed', error: 'the notice ran out before its turn', atMs: Math.round(performance.now() - t0) });
      } else {
        const dead = await kernel.whyNotRunning();
        if (dead !== undefined) {
          outcomes.push({ ...base, outcome: 'failed', error: `not running: ${dead}`, atMs: Math.round(performance.now() - t0) });
          continue;
        }
        const died = new AbortController();
        const watch = watchLiveness(kernel, died);
        try {
          const signal = AbortSignal.any([controller.signal, died.signal]);
          const checkpoint = await kernel.checkpoint({ trigger: 'notice', deadlineMs: remainingMs, allowLoss: true, signal });
          outcomes.push({ ...base, outcome: 'saved', checkpoint, atMs: Math.round(performance.now() - t0) });
        } catch (error) {
          const outcome = controller.signal.aborted ? 'missed' : 'failed';
          const why = died.signal.aborted ? `not running: ${String((died.signal.reason as Error).message)}` : (error as Error).message;
          outcomes.push({ ...base, outcome, error: why, atMs: Math.round(performance.now() - t0) });
        } finally {
          clearInterval(watch);
        }
      }
    }
    const allSafe = outcomes.every((o) => o.outcome === 'protected' || (o.outcome === 'saved' && o.checkpoint!.unrecoverable.length === 0));
    return { deadlineSeconds, receivedAt, elapsedMs: Math.round(performance.now() - t0), allSafe, kernels: outcomes };
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Busy running a cell, not just finishing a request of nbferry's own (registering, a query): that
 * kernel's idle status follows its reply within milliseconds, so a busy status is given a moment.
 */
async function busyInCell(client: KernelClient): Promise<boolean> {
  if (client.status !== 'busy') return false;
  return new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => {
      off();
      resolve(client.status === 'busy');
    }, BUSY_SETTLE_MS);
    const off = client.events.on('status', (state) => {
      if (state === 'busy') return;
      clearTimeout(timer);
      off();
      resolve(false);
    });
  });
}

const BUSY_SETTLE_MS = 300;
const LIVENESS_INTERVAL_MS = 1000;

/** Aborts `died` once the kernel is found not running during its checkpoint. */
function watchLiveness(kernel: RegisteredKernel, died: AbortController): NodeJS.Timeout {
  let asking = false;
  const timer = setInterval(() => {
    if (asking || died.signal.aborted) return;
    asking = true;
    void kernel
      .whyNotRunning()
      .then((why) => {
        if (why !== undefined) died.abort(new Error(why));
      })
      .catch(() => {})
      .finally(() => (asking = false));
  }, LIVENESS_INTERVAL_MS);
  timer.unref();
  return timer;
}

async function estimate(kernel: RegisteredKernel): Promise<{ recomputeSec: number; estimatedBytes: number }> {
  const since = lastCheckpointOf(kernel.recorder, kernel.store.root)?.seq ?? 0;
  const runtimeMs = kernel.recorder.graph.executions.filter((r) => r.kind === 'cell' && r.seq > since).reduce((sum, r) => sum + r.runtimeMs, 0);
  const estimatedBytes = (await kernel.residentBytes()) ?? kernel.lastCheckpoint?.totalBytes ?? UNKNOWN_SIZE;
  return { recomputeSec: runtimeMs / 1000, estimatedBytes: Math.max(estimatedBytes, 1) };
}
