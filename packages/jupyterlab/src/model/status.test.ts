import { describe, expect, it } from 'vitest';
import {
  EMPTY_STATUS,
  applyAttached,
  applyError,
  applyKernelPoll,
  applyPlan,
  describeStatus,
  lostVariables,
  needsPlan,
} from './status.js';
import { kernel, plan } from './test-fixtures.js';

const NOW = Date.parse('2026-12-03T12:00:00Z');
const checkpoint = { id: 'c1', createdAt: '2026-12-03T11:58:00Z', totalBytes: 12_300_000, newBytes: 1000 };

describe('status merging', () => {
  it('says not attached before the attach answers, and why when it failed', () => {
    expect(describeStatus(EMPTY_STATUS, NOW)).toMatchObject({ level: 'detached', label: 'nbferry: not attached' });
    const failed = applyError(EMPTY_STATUS, 'the kernel cannot be recorded (no shim)');
    expect(describeStatus(failed, NOW)).toMatchObject({ level: 'detached', label: 'nbferry: unavailable', title: 'the kernel cannot be recorded (no shim)' });
  });

  it('shows protection, age and size once polled', () => {
    const s = applyKernelPoll(applyAttached(EMPTY_STATUS, 'k1'), kernel({ protected: true, lastCheckpoint: checkpoint }), NOW);
    const view = describeStatus(s, NOW);
    expect(view.level).toBe('protected');
    expect(view.label).toBe('nbferry: protected · 2 min ago · 12.3 MB');
  });

  it('says not protected without a checkpoint', () => {
    const s = applyKernelPoll(applyAttached(EMPTY_STATUS, 'k1'), kernel({ protected: false }), NOW);
    expect(describeStatus(s, NOW)).toMatchObject({ level: 'unprotected', label: 'nbferry: not protected' });
  });

  it('counts recomputed and lost variables from the plan and the kernel, each name once', () => {
    let s = applyKernelPoll(
      applyAttached(EMPTY_STATUS, 'k1'),
      kernel({ protected: true, lastCheckpoint: { ...checkpoint, unrecoverable: [{ name: 'sock', reason: '' }] }, unsaveable: [{ name: 'sock', reason: 'a socket' }] }),
      NOW,
    );
    expect(needsPlan(s)).toBe(true);
    s = applyPlan(
      s,
      plan({
        checkpointId: 'c1',
        variables: [
          { name: 'model', decision: 'recompute', reason: 'cheap', bytes: 10, group: null },
          { name: 'df', decision: 'save', reason: null, bytes: 100, group: null },
          { name: 'gen', decision: 'lost', reason: 'a generator', bytes: null, group: null },
        ],
      }),
    );
    expect(needsPlan(s)).toBe(false);
    const view = describeStatus(s, NOW);
    expect(view.recompute).toEqual(['model']);
    expect(view.lost).toEqual([
      { name: 'gen', reason: 'a generator' },
      { name: 'sock', reason: 'a socket' },
    ]);
    expect(view.level).toBe('at-risk');
    expect(view.label).toBe('nbferry: protected · 2 min ago · 12.3 MB · 1 recomputed · 2 lost');
    expect(lostVariables(s).map((u) => u.name)).toEqual(['gen', 'sock']);
  });

  it('drops the plan once the kernel has a newer checkpoint', () => {
    let s = applyKernelPoll(applyAttached(EMPTY_STATUS, 'k1'), kernel({ lastCheckpoint: checkpoint }), NOW);
    s = applyPlan(s, plan({ checkpointId: 'c1' }));
    s = applyKernelPoll(s, kernel({ lastCheckpoint: { ...checkpoint, id: 'c2' } }), NOW);
    expect(s.plan).toBeNull();
    expect(needsPlan(s)).toBe(true);
  });

  it('keeps what it knew when a poll fails, marked stale, and clears that on the next good poll', () => {
    let s = applyKernelPoll(applyAttached(EMPTY_STATUS, 'k1'), kernel({ protected: true, lastCheckpoint: checkpoint }), NOW);
    s = applyError(s, 'service restarting');
    const view = describeStatus(s, NOW);
    expect(view.level).toBe('stale');
    expect(view.label).toContain('12.3 MB');
    expect(view.title).toContain('Not up to date: service restarting');
    s = applyKernelPoll(s, kernel({ protected: true, lastCheckpoint: checkpoint }), NOW);
    expect(describeStatus(s, NOW).level).toBe('protected');
  });

  it('forgets the old kernel’s state when attached to another one', () => {
    const s = applyKernelPoll(applyAttached(EMPTY_STATUS, 'k1'), kernel({ lastCheckpoint: checkpoint }), NOW);
    expect(applyAttached(s, 'k1').kernel).not.toBeNull();
    expect(applyAttached(s, 'k2')).toEqual({ ...EMPTY_STATUS, nbferryId: 'k2' });
  });
});
