/** Progress of a long operation (checkpoint, restore, move) from the jobs API: bytes and an ETA. */
import type { Job } from './api-types.js';
import { formatBytes, formatDuration } from './format.js';

export interface JobProgress {
  /** 0..1 when the total is known, else null (an indeterminate bar). */
  fraction: number | null;
  text: string;
  etaSeconds: number | null;
}

/**
 * The service's ETA when it gives one; else one from the average rate so far (needs a known total,
 * some bytes done and some time elapsed).
 */
export function estimateEta(job: Job, elapsedMs: number): number | null {
  if (job.etaSeconds !== null) return Math.max(0, job.etaSeconds);
  if (job.bytesTotal === null || job.bytesDone <= 0 || elapsedMs <= 0) return null;
  const left = Math.max(0, job.bytesTotal - job.bytesDone);
  return left / (job.bytesDone / (elapsedMs / 1000));
}

export function jobProgress(job: Job, elapsedMs: number): JobProgress {
  if (job.state === 'done') return { fraction: 1, text: `done, ${formatBytes(job.bytesDone)}`, etaSeconds: 0 };
  if (job.state === 'failed') return { fraction: null, text: `failed: ${job.error?.message ?? 'unknown error'}`, etaSeconds: null };
  const fraction = job.bytesTotal !== null && job.bytesTotal > 0 ? Math.min(1, Math.max(0, job.bytesDone / job.bytesTotal)) : null;
  const eta = estimateEta(job, elapsedMs);
  const bytes = job.bytesTotal === null ? formatBytes(job.bytesDone) : `${formatBytes(job.bytesDone)} of ${formatBytes(job.bytesTotal)}`;
  const parts = [job.phase, bytes, eta === null ? null : `ETA ${formatDuration(eta)}`].filter((p): p is string => p !== null && p !== '');
  return { fraction, text: parts.join(' · '), etaSeconds: eta };
}
