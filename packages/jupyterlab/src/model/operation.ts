/**
 * A long operation of the service started with ?async=1, followed to its end through the jobs API.
 * The HTTP side is passed in, so this logic runs (and is tested) without a browser.
 */
import { NbferryUiError } from './errors.js';
import { jobProgress, type JobProgress } from './jobs.js';
import { jobIdOf, parseJob } from './parse.js';

export type Request = (
  method: 'GET' | 'POST',
  path: string,
  body: unknown,
  signal?: AbortSignal,
) => Promise<{ status: number; body: unknown }>;

export interface FollowOptions {
  onProgress: (p: JobProgress) => void;
  signal?: AbortSignal;
  pollMs: number;
  sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  now?: () => number;
}

/**
 * POSTs `api/<path>?async=1`; a 202 `{job}` is polled at `api/jobs/<job>` until done (its result)
 * or failed (a typed error with the service's code and message). A 200 is the result itself.
 */
export async function runOperation(request: Request, path: string, body: unknown, o: FollowOptions): Promise<unknown> {
  const now = o.now ?? Date.now;
  const started = now();
  const separator = path.includes('?') ? '&' : '?';
  const first = await request('POST', `api/${path}${separator}async=1`, body, o.signal);
  const job = first.status === 202 ? jobIdOf(first.body) : null;
  if (job === null) return first.body;
  for (;;) {
    const state = parseJob((await request('GET', `api/jobs/${encodeURIComponent(job)}`, undefined, o.signal)).body);
    o.onProgress(jobProgress(state, now() - started));
    if (state.state === 'done') return state.result;
    if (state.state === 'failed') {
      throw new NbferryUiError(state.error?.message ?? 'the operation failed', state.error?.code ?? 'JOB_FAILED');
    }
    await o.sleep(o.pollMs, o.signal);
  }
}
