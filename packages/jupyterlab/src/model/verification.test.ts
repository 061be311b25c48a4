import { describe, expect, it } from 'vitest';
import { verificationReport } from './verification.js';

describe('verificationReport', () => {
  it('lists every variable of an undo, losses first, and sums up', () => {
    const report = verificationReport({
      ok: false,
      checkpointId: 'c1',
      restored: ['df', 'x'],
      deleted: ['tmp'],
      lost: [{ name: 'gen', reason: 'a generator' }],
      verification: [
        { name: 'df', outcome: 'restored', detail: 'hash equal' },
        { name: 'model', outcome: 'recomputed-different', detail: 'random seed' },
        { name: 'x', outcome: 'restored' },
      ],
      timings: { totalMs: 812.4 },
    });
    expect(report.ok).toBe(false);
    expect(report.checkpointId).toBe('c1');
    expect(report.totalMs).toBe(812.4);
    expect(report.rows).toEqual([
      { name: 'gen', outcome: 'lost', detail: 'a generator' },
      { name: 'model', outcome: 'recomputed-different', detail: 'random seed' },
      { name: 'df', outcome: 'restored', detail: 'hash equal' },
      { name: 'tmp', outcome: 'deleted', detail: 'bound after that checkpoint' },
      { name: 'x', outcome: 'restored', detail: '' },
    ]);
    expect(report.summary).toBe('1 lost, 1 recomputed-different, 2 restored, 1 deleted');
  });

  it('never lets a good outcome hide a loss of the same variable', () => {
    const report = verificationReport({ lost: ['df'], verification: [{ name: 'df', outcome: 'restored' }] });
    expect(report.rows).toEqual([{ name: 'df', outcome: 'lost', detail: '' }]);
    // A bad outcome listed first stays, whatever comes after it.
    const later = verificationReport({
      verification: [
        { name: 'm', outcome: 'recomputed-different', detail: 'seed' },
        { name: 'm', outcome: 'restored' },
      ],
      deleted: ['m'],
    });
    expect(later.rows).toEqual([{ name: 'm', outcome: 'recomputed-different', detail: 'seed' }]);
  });

  it('sums up a RestoreOutcome that only counts (a move)', () => {
    expect(verificationReport({ ok: true, totals: { restored: 3, recomputed: 1, lost: 0, note: 'x' }, lost: [] }).summary).toBe('3 restored, 1 recomputed');
  });

  it('reads the service’s RestoreOutcome (lost as names) and nonsense without throwing', () => {
    expect(verificationReport({ ok: true, lost: ['a'] }).rows).toEqual([{ name: 'a', outcome: 'lost', detail: '' }]);
    expect(verificationReport(null)).toEqual({ ok: null, checkpointId: null, rows: [], summary: 'no variables reported', totalMs: null });
  });
});
