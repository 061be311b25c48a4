import { describe, expect, it } from 'vitest';
import { formatByteProgress, formatEta, TextProgress } from './text-progress.js';

const MB = 1e6; // formatBytes uses decimal units

describe('text progress', () => {
  it('shows bytes done of total, throughput since the step began, and the ETA at that rate', () => {
    // 500 MB of 2 GB in 2 s: 250 MB/s, 1.5 GB left: 6 s.
    const line = formatByteProgress({ done: 500 * MB, total: 2000 * MB, startedMs: 1000 }, 3000);
    expect(line).toContain('500 MB / 2 GB');
    expect(line).toContain('25% [#####...............]');
    expect(line).toContain('250 MB/s');
    expect(line).toContain('ETA 6 s');
  });

  it('drops the ETA when done, and never shows more than 100% when the estimate was low', () => {
    const line = formatByteProgress({ done: 300 * MB, total: 200 * MB, startedMs: 0 }, 1000);
    expect(line).toContain('300 MB / 300 MB');
    expect(line).toContain('100%');
    expect(line).not.toContain('ETA');
  });

  it('formats long ETAs in minutes and hours', () => {
    expect(formatEta(0.2)).toBe('1 s');
    expect(formatEta(125)).toBe('2 min 5 s');
    expect(formatEta(3 * 3600 + 120)).toBe('3 h 2 min');
  });

  it('rewrites one line on a terminal, at most 10 times a second, and always draws the last bytes event', () => {
    const written: string[] = [];
    let now = 0;
    const progress = new TextProgress({ write: (t: string) => written.push(t), isTTY: true }, true, () => now);
    const on = progress.listener('checkpoint');
    on({ phase: 'save', groups: 1, bytes: 100 * MB });
    for (let i = 1; i <= 10; i++) {
      now += 20; // 50 events a second
      on({ phase: 'bytes', op: 'save', done: i * 10 * MB, total: 100 * MB });
    }
    const lines = written.filter((w) => w.includes(' / '));
    expect(lines.length).toBeLessThan(5);
    expect(lines.at(-1)).toContain('100 MB / 100 MB');
    expect(written.every((w) => w.startsWith('\r\x1b[2K'))).toBe(true);
    progress.end();
    expect(written.at(-1)).toBe('\r\x1b[2K');
  });
});
