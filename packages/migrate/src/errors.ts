/** Typed migration errors. */

import { NbferryError } from '@nbferry/protocol';
import type { ReplicationPlan } from '@nbferry/planner';
import type { Mismatch } from './compatibility.js';

export class MigrationError extends NbferryError {
  override name = 'MigrationError';
}

/** The target kernel's environment differs from the checkpoint's; restore with `force` to proceed anyway. */
export class IncompatibleEnvironmentError extends MigrationError {
  override name = 'IncompatibleEnvironmentError';
  constructor(readonly mismatches: Mismatch[]) {
    super(
      `the target kernel differs from the checkpoint's environment: ${mismatches
        .map((m) => `${m.what} ${m.checkpoint} in the checkpoint, ${m.target} in the target`)
        .join('; ')}. Install matching versions, or restore with --force to try anyway.`,
      'INCOMPATIBLE_ENVIRONMENT',
    );
  }
}

/**
 * A checkpoint that could not bring back every variable, refused (`refuseLoss`) before it was
 * committed: nothing was written and the store's previous checkpoint is intact.
 */
export class CheckpointLossError extends MigrationError {
  override name = 'CheckpointLossError';
  constructor(
    readonly unrecoverable: { name: string; reason: string }[],
    readonly plan: ReplicationPlan,
  ) {
    super(
      `this checkpoint could not bring back ${unrecoverable.length} variable(s): ${unrecoverable
        .map((u) => `${u.name} (${u.reason})`)
        .join('; ')}. Nothing was written; the previous checkpoint is intact. Recreate them in a recorded ` +
        `cell or delete them, or accept the loss (--allow-loss).`,
      'CHECKPOINT_WOULD_LOSE',
    );
  }
}
