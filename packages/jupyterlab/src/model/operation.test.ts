import { describe, expect, it } from 'vitest';
import { NbferryUiError } from './errors.js';
import type { JobProgress } from './jobs.js';
import { runOperation, type Request } from './operation.js';

/** A scripted service: answers each request with the next reply, and records what was asked. */
function service(replies: { status: number; body: unknown }[]): { request: Request; asked: string[] } {
  const asked: string[] = [];
  const request: Request = async (method, path, body) => {
    asked.push(`${method} ${path}${body === undefined ? '' : ` ${JSON.stringify(body)}`}`);
    const reply = replies.shift();
    if (!reply) throw new Error(`unexpected request ${method} ${path}`);
    return reply;
  };
  return { request, asked };
}

const running = (bytesDone: number) => ({ status: 200, body: { state: 'running', bytesDone, bytesTotal: 4000, etaSeconds: null, result: null, error: null } });

describe('runOperation', () => {
  it('follows a 202 job to its result, reporting progress between polls', async () => {
    const { request, asked } = service([
      { status: 202, body: { job: 'j 1' } },
      running(1000),
      running(3000),
      { status: 200, body: { state: 'done', bytesDone: 4000, bytesTotal: 4000, result: { ok: true }, error: null } },
    ]);
    const progress: JobProgress[] = [];
    const sleeps: number[] = [];
    let t = 0;
    const result = await runOperation(request, 'kernels/k1/undo', {}, {
      onProgress: (p) => progress.push(p),
      pollMs: 250,
      sleep: async (ms) => {
        sleeps.push(ms);
        t += 1000;
      },
      now: () => t,
    });
    expect(result).toEqual({ ok: true });
    expect(asked).toEqual(['POST api/kernels/k1/undo?async=1 {}', 'GET api/jobs/j%201', 'GET api/jobs/j%201', 'GET api/jobs/j%201']);
    expect(sleeps).toEqual([250, 250]);
    expect(progress.map((p) => p.fraction)).toEqual([0.25, 0.75, 1]);
    // 3000 B in 1 s, 1000 B left: about a third of a second.
    expect(progress[1]!.text).toBe('3.00 kB of 4.00 kB · ETA 0 s');
  });

  it('takes a 200 answer as the result at once', async () => {
    const { request, asked } = service([{ status: 200, body: { id: 'c1', newBytes: 5 } }]);
    const result = await runOperation(request, 'kernels/k1/checkpoint', { allowLoss: true }, { onProgress: () => {}, pollMs: 1, sleep: async () => {} });
    expect(result).toEqual({ id: 'c1', newBytes: 5 });
    expect(asked).toEqual(['POST api/kernels/k1/checkpoint?async=1 {"allowLoss":true}']);
  });

  it('turns a failed job into a typed error with the service’s code and message', async () => {
    const { request } = service([
      { status: 202, body: { job: 'j2' } },
      { status: 200, body: { state: 'failed', bytesDone: 0, error: { code: 'NOTHING_TO_UNDO', message: 'no checkpoint to go back to' } } },
    ]);
    const failure = runOperation(request, 'kernels/k1/undo', {}, { onProgress: () => {}, pollMs: 1, sleep: async () => {} });
    await expect(failure).rejects.toBeInstanceOf(NbferryUiError);
    await expect(runOperation(service([{ status: 202, body: { job: 'j3' } }, { status: 200, body: { state: 'failed', error: { code: 'NOTHING_TO_UNDO', message: 'no checkpoint to go back to' } } }]).request, 'x', {}, { onProgress: () => {}, pollMs: 1, sleep: async () => {} })).rejects.toMatchObject({
      code: 'NOTHING_TO_UNDO',
      message: 'no checkpoint to go back to',
    });
  });

  it('stops when cancelled while waiting between polls', async () => {
    const { request } = service([{ status: 202, body: { job: 'j4' } }, running(0)]);
    const controller = new AbortController();
    const pending = runOperation(request, 'kernels/k1/migrate', {}, {
      onProgress: () => controller.abort(new Error('the kernel changed')),
      signal: controller.signal,
      pollMs: 1,
      sleep: async (_ms, signal) => {
        if (signal?.aborted) throw signal.reason;
      },
    });
    await expect(pending).rejects.toThrow('the kernel changed');
  });
});
