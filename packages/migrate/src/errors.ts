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
 * The kernel's state changed while a checkpoint was being taken (a cell ran between measuring and
 * saving): saving now would mix two states. Nothing was committed; the previous checkpoint stands.
 */
export class StateChangedError extends MigrationError {
  override name = 'StateChangedError';
  constructor(
    readonly measuredSeq: number,
    readonly currentSeq: number,
    attempts?: number,
  ) {
    super(
      attempts === undefined
        ? `the kernel ran code while it was being checkpointed (history record ${currentSeq}, measured at ${measuredSeq}); nothing was saved`
        : `the kernel kept running code during ${attempts} checkpoint attempts (history record ${currentSeq}); nothing was committed and ` +
            'the previous checkpoint is intact. Checkpoint when the kernel is idle, or allow more attempts.',
      'CHECKPOINT_STATE_CHANGED',
    );
  }
}

/**
 * A checkpoint taken in the background (on a kernel subshell, beside the cells) was abandoned
 * because a cell started, or the kernel was interrupted, before its bytes were all produced: they
 * may have been pickled while the cell changed them. Nothing was committed; the chunks already
 * written are content addressed and reused by the next checkpoint where their bytes are the same.
 */
export class CheckpointPreemptedError extends StateChangedError {
  override name = 'CheckpointPreemptedError';
  constructor(seq: number) {
    super(seq, seq);
    this.message =
      'a cell started (or the kernel was interrupted) while this checkpoint was being taken in the background: it was abandoned, nothing was ' +
      'committed and the previous checkpoint is intact; the next checkpoint reuses the chunks already written';
  }
}

/**
 * The target kernel already binds names the restore would overwrite or delete (the user's own
 * work?). Nothing was changed. Restore into a fresh kernel, or pass `replaceExisting` to overwrite.
 */
export class TargetNamespaceConflictError extends MigrationError {
  override name = 'TargetNamespaceConflictError';
  constructor(readonly names: string[]) {
    const shown = names.slice(0, 10).join(', ') + (names.length > 10 ? `, … (${names.length} in all)` : '');
    super(
      `the target kernel already has variables the checkpoint would overwrite or delete: ${shown}. Nothing was changed. ` +
        'Restore into a fresh kernel, or allow replacing them (replaceExisting).',
      'TARGET_NAMESPACE_CONFLICT',
    );
  }
}

/** Code nbferry runs in a kernel to read something (its environment) failed there. */
export class KernelQueryError extends MigrationError {
  override name = 'KernelQueryError';
  constructor(what: string, detail: string, options?: { cause?: unknown }) {
    super(
      `cannot read ${what}: ${detail}. User code may have replaced a builtin or stdlib function the kernel needs; restart the kernel or undo the change`,
      'KERNEL_QUERY_FAILED',
      options,
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

/**
 * The restore kept failing after re-planning around every failure (each attempt failed anew): a
 * bug, or a target that breaks whatever runs in it. The fallbacks tried are listed, newest last.
 */
export class RestoreFallbackError extends MigrationError {
  override name = 'RestoreFallbackError';
  constructor(readonly fallbacks: string[]) {
    super(
      `the restore did not settle after ${fallbacks.length} fallbacks (${fallbacks.slice(-3).join('; ')}). ` +
        'The target kernel holds a partial state: discard it, and report this with the checkpoint if it persists',
      'RESTORE_FALLBACK_DIVERGED',
    );
  }
}

/**
 * Undo found nothing to go back to: the kernel has no checkpoint in this store (none taken or
 * restored since it started), or its last one has no parent. Nothing was changed.
 */
export class NothingToUndoError extends MigrationError {
  override name = 'NothingToUndoError';
  constructor(readonly store: string, reason: string) {
    super(`nothing to undo in ${store}: ${reason}. Checkpoint after each cell (AutoCheckpointer, run --auto-checkpoint) so undo has a state to return to.`, 'NOTHING_TO_UNDO');
  }
}

/**
 * Undo in a kernel nbferry was not recording: the shim was installed by this very command, so the
 * kernel has no checkpoint to go back to and no history since one. Nothing was changed.
 */
export class KernelNotRecordedError extends MigrationError {
  override name = 'KernelNotRecordedError';
  constructor(readonly store: string) {
    super(
      `nothing to undo in ${store}: nbferry was not recording this kernel (no checkpoint of it in any store, no history). ` +
        `Checkpoint it first (nbferry checkpoint --connection-file F --out ${store}); undo then goes back to that state.`,
      'KERNEL_NOT_RECORDED',
    );
  }
}
