import { describe, expect, it } from 'vitest';
import { IdleClock, TOUCH_SLACK_MS } from './idle-clock.js';

describe('IdleClock', () => {
  it("counts activity after the service's last touch, ignores what the touch itself caused", () => {
    const clock = new IdleClock(1000);
    expect(clock.observe('hub', 500)).toBe(false); // older than the start
    expect(clock.observe('hub', 5000)).toBe(true);
    expect(clock.since).toBe(5000);
    clock.touched(10_000);
    expect(clock.observe('kernels', 10_000 + TOUCH_SLACK_MS - 1)).toBe(false); // the service's own checkpoint
    expect(clock.observe('hub', 10_000 + TOUCH_SLACK_MS - 1)).toBe(false);
    expect(clock.since).toBe(5000);
    expect(clock.observe('kernels', 10_000 + TOUCH_SLACK_MS + 1)).toBe(true); // the user, after it
    expect(clock.since).toBe(10_000 + TOUCH_SLACK_MS + 1);
  });

  it("a visit through the proxy only hides the Hub's activity, not the kernels'", () => {
    const clock = new IdleClock(1000);
    clock.touched(10_000, 'hub');
    expect(clock.observe('hub', 10_500)).toBe(false);
    expect(clock.observe('kernels', 10_500)).toBe(true); // a cell the user ran meanwhile
  });

  it('ignores missing and unparsable timestamps', () => {
    const clock = new IdleClock(1000);
    expect(clock.observe('hub', undefined, Number.NaN, Date.parse('not a date'))).toBe(false);
    expect(clock.since).toBe(1000);
  });

  it('reset starts a new idle period', () => {
    const clock = new IdleClock(1000);
    clock.reset(20_000);
    expect(clock.since).toBe(20_000);
    expect(clock.observe('hub', 15_000)).toBe(false);
  });
});
