import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Job } from './api-types.js';
import { estimateEta, jobProgress } from './jobs.js';

const job = (over: Partial<Job> = {}): Job => ({
  state: 'running',
  phase: null,
  bytesDone: 0,
  bytesTotal: null,
  etaSeconds: null,
  result: null,
  error: null,
  ...over,
});

describe('job progress', () => {
  it('shows bytes of the total, the phase and the service’s ETA', () => {
    expect(jobProgress(job({ phase: 'writing', bytesDone: 12_300_000, bytesTotal: 40_000_000, etaSeconds: 8 }), 1000)).toEqual({
      fraction: 0.3075,
      text: 'writing · 12.3 MB of 40.0 MB · ETA 8 s',
      etaSeconds: 8,
    });
  });

  it('estimates the ETA from the rate so far when the service gives none', () => {
    // 10 MB in 2 s, 30 MB left: 6 s.
    expect(estimateEta(job({ bytesDone: 10e6, bytesTotal: 40e6 }), 2000)).toBeCloseTo(6);
    expect(estimateEta(job({ bytesDone: 0, bytesTotal: 40e6 }), 2000)).toBeNull();
    expect(estimateEta(job({ bytesDone: 10e6 }), 2000)).toBeNull();
  });

  it('is indeterminate without a total, and says how it ended', () => {
    expect(jobProgress(job({ bytesDone: 5000 }), 100)).toEqual({ fraction: null, text: '5.00 kB', etaSeconds: null });
    expect(jobProgress(job({ state: 'done', bytesDone: 5000 }), 100).fraction).toBe(1);
    expect(jobProgress(job({ state: 'failed', error: { code: 'X', message: 'disk full' } }), 100).text).toBe('failed: disk full');
  });

  it('keeps the fraction in 0..1 and the estimated ETA consistent with a constant rate (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 1e12 }), fc.integer({ min: 0, max: 2e12 }), fc.integer({ min: 1, max: 1e7 }), (done, total, ms) => {
        const p = jobProgress(job({ bytesDone: done, bytesTotal: total }), ms);
        if (total > 0) expect(p.fraction).toBeGreaterThanOrEqual(0);
        if (total > 0) expect(p.fraction).toBeLessThanOrEqual(1);
        const eta = estimateEta(job({ bytesDone: done, bytesTotal: total }), ms)!;
        // At the same rate, the rest takes eta seconds: done/ms*1000 * eta = what is left.
        expect(eta * (done / (ms / 1000))).toBeCloseTo(Math.max(0, total - done), -1);
      }),
    );
  });
});
