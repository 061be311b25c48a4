import { describe, expect, it } from 'vitest';
import { IdleClock, TOUCH_SLACK_MS } from './idle-clock.js';

describe('IdleClock', () => {
  it("counts activity after the service's last touch, ignores what the touch itself caused", () => {
    const clock = new IdleClock(1000);
    expect(clock.observe(500)).toBe(false); // older than the start
    expect(clock.observe(5000)).toBe(true);
    expect(clock.since).toBe(5000);
    clock.touched(10_000);
    expect(clock.observe(10_000 + TOUCH_SLACK_MS - 1)).toBe(false); // the service's own request
    expect(clock.since).toBe(5000);
    expect(clock.observe(10_000 + TOUCH_SLACK_MS + 1)).toBe(true); // the user, after it
    expect(clock.since).toBe(10_000 + TOUCH_SLACK_MS + 1);
  });

  it('ignores missing and unparsable timestamps', () => {
    const clock = new IdleClock(1000);
    expect(clock.observe(undefined, Number.NaN, Date.parse('not a date'))).toBe(false);
    expect(clock.since).toBe(1000);
  });

  it('reset starts a new idle period and treats what it did as the service’s', () => {
    const clock = new IdleClock(1000);
    clock.reset(20_000);
    expect(clock.since).toBe(20_000);
    expect(clock.observe(20_500)).toBe(false);
  });
});
