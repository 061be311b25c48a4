import { describe, expect, it } from 'vitest';
import { KernelWatch } from './kernel-watch.js';

describe('the watched kernel’s abort signals', () => {
  it('a restart drops the polls of the old process, not the user’s running action', () => {
    const watch = new KernelWatch();
    const poll = watch.pollSignal;
    const action = watch.actionSignal;
    watch.restarted();
    expect(poll.aborted).toBe(true);
    expect(action.aborted).toBe(false);
    expect(watch.pollSignal.aborted).toBe(false);
    expect(watch.pollSignal).not.toBe(poll);
    expect(watch.actionSignal).toBe(action);
  });

  it('another kernel aborts both, and the new kernel starts with fresh signals', () => {
    const watch = new KernelWatch();
    const poll = watch.pollSignal;
    const action = watch.actionSignal;
    watch.changed();
    expect([poll.aborted, action.aborted]).toEqual([true, true]);
    expect([watch.pollSignal.aborted, watch.actionSignal.aborted]).toEqual([false, false]);
  });

  it('disposal aborts both', () => {
    const watch = new KernelWatch();
    watch.dispose();
    expect([watch.pollSignal.aborted, watch.actionSignal.aborted]).toEqual([true, true]);
  });
});
