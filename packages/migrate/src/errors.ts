/** Typed migration errors. */

import { NbferryError } from '@nbferry/protocol';
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
