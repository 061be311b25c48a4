/**
 * Long operations run as jobs (`?async=1`): the request returns at once with a job id, and
 * `GET /jobs/{id}` reports the state, the bytes written or read so far (the migrate package's `bytes`
 * progress events) with an ETA from the throughput since the bytes started, and the result or error.
 * Finished jobs are forgotten after `keepMs` so a long-running service does not grow.
 */
import { randomUUID } from 'node:crypto';
import type { ProgressListener } from '@nbferry/migrate';
import { ServiceError } from './errors.js';

export interface JobView {
  id: string;
  operation: string;
  state: 'running' | 'done' | 'failed';
  /** The step in progress (`save`, `load`, `verify`...), null once finished. */
  phase: string | null;
  bytesDone: number;
  bytesTotal: number | null;
  etaSeconds: number | null;
  startedAt: string;
  finishedAt: string | null;
  result: unknown;
  error: { code: string; message: string } | null;
}

export class UnknownJobError extends ServiceError {
  override name = 'UnknownJobError';
  constructor(id: string) {
    super(`no job "${id}": it never existed or finished long ago (jobs are kept for a while after they end)`, 'UNKNOWN_JOB', 404);
  }
}

/** The throughput-based estimate of the seconds left; null until there is a rate to go by. */
export function estimateEta(done: number, total: number, elapsedMs: number): number | null {
  if (total <= done) return 0;
  if (done <= 0 || elapsedMs <= 0) return null;
  // A rate from the first few bytes is noise (a 192-byte header said "4 h 21 min" for 128 MB moved in 3 s).
  if (done < total / 100 && elapsedMs < 1000) return null;
  const rate = done / elapsedMs;
  return Math.round(((total - done) / rate) / 100) / 10;
}

class Job {
  readonly id = randomUUID().slice(0, 12);
  readonly startedAt = new Date().toISOString();
  state: JobView['state'] = 'running';
  phase: string | null = 'start';
  finishedAt: string | null = null;
  result: unknown = null;
  error: JobView['error'] = null;
  private bytes?: { op: string; done: number; total: number; startedMs: number };

  constructor(
    readonly operation: string,
    private readonly now: () => number,
  ) {}

  /** Records progress events; a new save or load starts its own byte count. */
  readonly onProgress: ProgressListener = (event) => {
    if (event.phase !== 'bytes') {
      this.phase = event.phase;
      return;
    }
    if (this.bytes?.op !== event.op) this.bytes = { op: event.op, done: 0, total: event.total, startedMs: this.now() };
    this.bytes.done = event.done;
    this.bytes.total = Math.max(event.total, event.done);
  };

  view(): JobView {
    const bytes = this.bytes;
    const running = this.state === 'running';
    return {
      id: this.id,
      operation: this.operation,
      state: this.state,
      phase: running ? this.phase : null,
      bytesDone: bytes?.done ?? 0,
      bytesTotal: bytes?.total ?? null,
      etaSeconds: !running ? 0 : bytes ? estimateEta(bytes.done, bytes.total, this.now() - bytes.startedMs) : null,
      startedAt: this.startedAt,
      finishedAt: this.finishedAt,
      result: this.result,
      error: this.error,
    };
  }

  finish(outcome: { result: unknown } | { error: unknown }): void {
    this.finishedAt = new Date().toISOString();
    if ('result' in outcome) {
      this.state = 'done';
      this.result = outcome.result;
      return;
    }
    this.state = 'failed';
    const e = outcome.error as { code?: unknown; message?: unknown };
    this.error = { code: typeof e.code === 'string' ? e.code : 'INTERNAL', message: String(e.message ?? outcome.error) };
  }
}

export class Jobs {
  private readonly jobs = new Map<string, Job>();

  constructor(
    private readonly keepMs = 15 * 60_000,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /**
   * Starts `run` (given the job's progress listener) and returns the job's id at once. `onError` sees
   * a failure (to log it); the job keeps it for `GET /jobs/{id}`.
   */
  start(operation: string, run: (onProgress: ProgressListener) => Promise<unknown>, onError?: (error: unknown) => void): string {
    const job = new Job(operation, this.now);
    this.jobs.set(job.id, job);
    void run(job.onProgress).then(
      (result) => job.finish({ result }),
      (error: unknown) => {
        job.finish({ error });
        onError?.(error);
      },
    ).finally(() => setTimeout(() => this.jobs.delete(job.id), this.keepMs).unref());
    return job.id;
  }

  get(id: string): JobView {
    const job = this.jobs.get(id);
    if (!job) throw new UnknownJobError(id);
    return job.view();
  }
}
