/** Which buttons and commands are enabled: never two operations on one kernel at once. */

export type Action = 'checkpoint' | 'undo' | 'restore' | 'branch' | 'move' | 'plan';

export interface ActionContext {
  /** The current notebook's kernel is attached to nbferry. */
  attached: boolean;
  /** The operation in flight on this kernel, if any. */
  running: Action | null;
  /** The kernel's newest checkpoint has a parent (something to undo to). */
  canUndo: boolean;
  /** A checkpoint is selected in the history panel (or given to the command). */
  selected: string | null;
  /** The kernel has at least one checkpoint. */
  hasCheckpoint: boolean;
}

export interface Enablement {
  enabled: boolean;
  /** Why not, for the tooltip; '' when enabled. */
  why: string;
}

export function enablement(action: Action, c: ActionContext): Enablement {
  if (!c.attached) return { enabled: false, why: 'nbferry is not attached to this kernel' };
  if (c.running !== null) return { enabled: false, why: `wait: ${c.running} is running` };
  switch (action) {
    case 'checkpoint':
    case 'move':
      return { enabled: true, why: '' };
    case 'plan':
      return c.hasCheckpoint ? { enabled: true, why: '' } : { enabled: false, why: 'no checkpoint yet' };
    case 'undo':
      return c.canUndo ? { enabled: true, why: '' } : { enabled: false, why: 'no earlier checkpoint to go back to' };
    case 'restore':
    case 'branch':
      return c.selected !== null ? { enabled: true, why: '' } : { enabled: false, why: 'select a checkpoint in the history first' };
  }
}
