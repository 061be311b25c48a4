/** The extension's commands (palette entries; keyboard shortcuts live in schema/plugin.json). */
import type { JupyterFrontEnd } from '@jupyterlab/application';
import type { ICommandPalette } from '@jupyterlab/apputils';
import type { Action } from '../model/actions.js';
import type { NbferryController } from './controller.js';
import type { Operations } from './operations.js';

export const CommandIds = {
  checkpoint: 'nbferry:checkpoint',
  undo: 'nbferry:undo',
  restore: 'nbferry:restore',
  branch: 'nbferry:branch',
  move: 'nbferry:move',
  openHistory: 'nbferry:open-history',
  openPlan: 'nbferry:open-plan',
  showStatus: 'nbferry:show-status',
} as const;

const CATEGORY = 'nbferry';

export function addCommands(
  app: JupyterFrontEnd,
  controller: NbferryController,
  ops: Operations,
  ui: { openHistory: () => void; openPlan: () => void; showStatus: () => void },
  palette: ICommandPalette | null,
): void {
  const enabled = (action: Action, args?: { checkpointId?: unknown }): boolean => {
    const given = typeof args?.checkpointId === 'string' ? args.checkpointId : controller.selected;
    return controller.enablement(action, given).enabled;
  };
  const checkpointArg = (args: { checkpointId?: unknown }): string | null =>
    typeof args.checkpointId === 'string' ? args.checkpointId : controller.selected;
  const { commands } = app;
  controller.changed.connect(() => commands.notifyCommandChanged());

  commands.addCommand(CommandIds.checkpoint, {
    label: 'nbferry: Checkpoint Now',
    caption: 'Save this kernel’s state now (in the background)',
    isEnabled: () => enabled('checkpoint'),
    execute: () => ops.checkpoint(),
  });
  commands.addCommand(CommandIds.undo, {
    label: 'nbferry: Undo Last Cell',
    caption: 'Bring the kernel back to the checkpoint before the last cell',
    isEnabled: () => enabled('undo'),
    execute: () => ops.undo(),
  });
  commands.addCommand(CommandIds.restore, {
    label: 'nbferry: Restore Selected Checkpoint',
    caption: 'Restore the checkpoint selected in the history into this kernel',
    isEnabled: (args) => enabled('restore', args),
    execute: (args) => ops.restore(checkpointArg(args)),
  });
  commands.addCommand(CommandIds.branch, {
    label: 'nbferry: Open Selected Checkpoint as a New Kernel',
    caption: 'Start a new kernel from the selected checkpoint and open a console on it',
    isEnabled: (args) => enabled('branch', args),
    execute: (args) => ops.branch(checkpointArg(args)),
  });
  commands.addCommand(CommandIds.move, {
    label: 'nbferry: Move Kernel to…',
    caption: 'Move this kernel’s state to another kernel or server the platform offers',
    isEnabled: () => enabled('move'),
    execute: () => ops.move(),
  });
  commands.addCommand(CommandIds.openHistory, {
    label: 'nbferry: Show Checkpoint History',
    execute: () => ui.openHistory(),
  });
  commands.addCommand(CommandIds.openPlan, {
    label: 'nbferry: Show Checkpoint Plan',
    caption: 'Which variables the last checkpoint saved, which a restore recomputes, and why',
    execute: () => ui.openPlan(),
  });
  commands.addCommand(CommandIds.showStatus, {
    label: 'nbferry: Show Protection Status',
    execute: () => ui.showStatus(),
  });

  if (palette) {
    for (const command of Object.values(CommandIds)) palette.addItem({ command, category: CATEGORY });
  }
}
