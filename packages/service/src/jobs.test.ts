import { describe, expect, it } from 'vitest';
import { estimateEta, Jobs, UnknownJobError } from './jobs.js';

describe('estimateEta', () => {
  it('extrapolates the throughput so far to the bytes left', () => {
    expect(estimateEta(100, 400, 1000)).toBe(3); // 100 B/s, 300 B left
    expect(estimateEta(250, 1000, 500)).toBe(1.5);
  });
  it('is null before a byte has moved and 0 once all have', () => {
    expect(estimateEta(0, 1000, 500)).toBeNull();
    expect(estimateEta(10, 1000, 0)).toBeNull();
    expect(estimateEta(192, 128_000_000, 50)).toBeNull(); // too little seen yet to say
    expect(estimateEta(192, 128_000_000, 2000)).not.toBeNull();
    expect(estimateEta(1000, 1000, 500)).toBe(0);
  });
});

describe('Jobs', () => {
  it('reports byte progress with an ETA while running, then the result', async () => {
    let now = 0;
    const jobs = new Jobs(60_000, () => now);
    let finish!: (value: string) => void;
    const id = jobs.start('checkpoint', (onProgress) => {
      onProgress!({ phase: 'save', groups: 2, bytes: 400 });
      onProgress!({ phase: 'bytes', op: 'save', done: 0, total: 400 });
      now = 1000;
      onProgress!({ phase: 'bytes', op: 'save', done: 100, total: 400 });
      return new Promise<string>((resolve) => (finish = resolve));
    });
    expect(jobs.get(id)).toMatchObject({ state: 'running', operation: 'checkpoint', phase: 'save', bytesDone: 100, bytesTotal: 400, etaSeconds: 3, result: null, error: null });
    finish('committed');
    await new Promise((resolve) => setImmediate(resolve));
    expect(jobs.get(id)).toMatchObject({ state: 'done', phase: null, result: 'committed', etaSeconds: 0, error: null });
  });

  it('keeps a failure as its code and message', async () => {
    const jobs = new Jobs();
    const failure = Object.assign(new Error('kernel died'), { code: 'KERNEL_DEAD' });
    const seen: unknown[] = [];
    const id = jobs.start('restore', () => Promise.reject(failure), (error) => seen.push(error));
    await new Promise((resolve) => setImmediate(resolve));
    expect(jobs.get(id)).toMatchObject({ state: 'failed', error: { code: 'KERNEL_DEAD', message: 'kernel died' }, result: null });
    expect(seen).toEqual([failure]);
  });

  it('a new load after a save starts its own byte count', () => {
    let now = 0;
    const jobs = new Jobs(60_000, () => now);
    const id = jobs.start('migrate', (onProgress) => {
      onProgress!({ phase: 'bytes', op: 'save', done: 500, total: 500 });
      now = 10;
      onProgress!({ phase: 'bytes', op: 'load', done: 0, total: 800 });
      return new Promise(() => {});
    });
    expect(jobs.get(id)).toMatchObject({ bytesDone: 0, bytesTotal: 800, etaSeconds: null });
  });

  it('an unknown job id is a typed 404', () => {
    expect(() => new Jobs().get('nope')).toThrow(UnknownJobError);
  });
});
