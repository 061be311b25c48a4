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
