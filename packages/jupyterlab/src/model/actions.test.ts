import { describe, expect, it } from 'vitest';
import { enablement, type ActionContext } from './actions.js';

const ready: ActionContext = { attached: true, running: null, canUndo: true, selected: 'c1', hasCheckpoint: true };

describe('enablement', () => {
  it('enables every action on an attached, idle kernel with history and a selection', () => {
    for (const action of ['checkpoint', 'undo', 'restore', 'branch', 'move', 'plan'] as const) {
      expect(enablement(action, ready)).toEqual({ enabled: true, why: '' });
    }
  });

  it('disables everything while one operation runs, and says which', () => {
    expect(enablement('checkpoint', { ...ready, running: 'undo' })).toEqual({ enabled: false, why: 'wait: undo is running' });
    expect(enablement('restore', { ...ready, running: 'checkpoint' }).enabled).toBe(false);
  });

  it('disables everything before attaching', () => {
    expect(enablement('move', { ...ready, attached: false })).toEqual({ enabled: false, why: 'nbferry is not attached to this kernel' });
  });

  it('needs an earlier checkpoint to undo, a selection to restore or branch, a checkpoint for the plan', () => {
    expect(enablement('undo', { ...ready, canUndo: false }).enabled).toBe(false);
    expect(enablement('restore', { ...ready, selected: null }).why).toBe('select a checkpoint in the history first');
    expect(enablement('branch', { ...ready, selected: null }).enabled).toBe(false);
    expect(enablement('plan', { ...ready, hasCheckpoint: false }).enabled).toBe(false);
    expect(enablement('checkpoint', { ...ready, hasCheckpoint: false, canUndo: false, selected: null }).enabled).toBe(true);
  });
});
