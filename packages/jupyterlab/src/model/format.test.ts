import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { firstLineOf, formatAge, formatBytes, formatDeadline, formatDuration } from './format.js';

const UNIT_POWER: Record<string, number> = { B: 0, kB: 1, MB: 2, GB: 3, TB: 4 };

describe('formatBytes', () => {
  it('writes small sizes exactly and larger ones in decimal units with three digits', () => {
    expect(formatBytes(0)).toBe('0 B');
    expect(formatBytes(999)).toBe('999 B');
    expect(formatBytes(1000)).toBe('1.00 kB');
    expect(formatBytes(12_345_678)).toBe('12.3 MB');
    expect(formatBytes(999_999)).toBe('1.00 MB');
    expect(formatBytes(456e9)).toBe('456 GB');
  });

  it('says "?" for what is not a size', () => {
    expect(formatBytes(null)).toBe('?');
    expect(formatBytes(undefined)).toBe('?');
    expect(formatBytes(-1)).toBe('?');
    expect(formatBytes(Number.NaN)).toBe('?');
  });

  it('reads back within rounding of the true size (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 53 - 1 }), (bytes) => {
        const text = formatBytes(bytes);
        const match = /^([0-9.]+) (B|kB|MB|GB|TB)$/.exec(text);
        expect(match).not.toBeNull();
        const value = Number(match![1]) * 1000 ** UNIT_POWER[match![2]!]!;
        // Three significant digits: off by at most half a unit in the third digit.
        expect(Math.abs(value - bytes)).toBeLessThanOrEqual(Math.max(0.5, bytes * 0.005 + 1e-9));
        if (match![2] !== 'TB') expect(Number(match![1])).toBeLessThan(1000);
      }),
    );
  });

  it('never decreases as the size grows (property)', () => {
    const parse = (t: string): number => {
      const [n, u] = t.split(' ');
      return Number(n) * 1000 ** UNIT_POWER[u!]!;
    };
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 1e15 }), fc.integer({ min: 0, max: 1e15 }), (a, b) => {
        const [lo, hi] = a <= b ? [a, b] : [b, a];
        expect(parse(formatBytes(lo))).toBeLessThanOrEqual(parse(formatBytes(hi)));
      }),
    );
  });
});

describe('formatAge', () => {
  const now = Date.parse('2026-12-03T12:00:00Z');
  it('writes ages in the largest whole unit', () => {
    expect(formatAge('2026-12-03T12:00:00Z', now)).toBe('just now');
    expect(formatAge('2026-12-03T11:59:18Z', now)).toBe('42 s ago');
    expect(formatAge('2026-12-03T11:55:00Z', now)).toBe('5 min ago');
    expect(formatAge('2026-12-03T09:00:00Z', now)).toBe('3 h ago');
    expect(formatAge('2026-11-30T12:00:00Z', now)).toBe('3 d ago');
  });
  it('says never without a time, just now for a clock ahead of ours', () => {
    expect(formatAge(null, now)).toBe('never');
    expect(formatAge('not a date', now)).toBe('never');
    expect(formatAge('2026-12-03T12:05:00Z', now)).toBe('just now');
  });
});

describe('formatDuration and formatDeadline', () => {
  it('writes durations in whole units', () => {
    expect(formatDuration(8.4)).toBe('8 s');
    expect(formatDuration(200)).toBe('3 min 20 s');
    expect(formatDuration(180)).toBe('3 min');
    expect(formatDuration(7500)).toBe('2 h 5 min');
  });
  it('counts down to a deadline and says when it passed', () => {
    const now = Date.parse('2026-12-03T12:00:00Z');
    expect(formatDeadline('2026-12-03T12:04:10Z', now)).toBe('in 4 min 10 s');
    expect(formatDeadline('2026-12-03T11:59:00Z', now)).toBe('passed');
    expect(formatDeadline(null, now)).toBe('');
  });
});

describe('firstLineOf', () => {
  it('keeps the first line, trimmed and cut to fit', () => {
    expect(firstLineOf('  df = load()  \nprint(df)')).toBe('df = load()');
    expect(firstLineOf('x'.repeat(100), 10)).toBe(`${'x'.repeat(9)}…`);
    expect(firstLineOf(null)).toBe('');
  });
});
