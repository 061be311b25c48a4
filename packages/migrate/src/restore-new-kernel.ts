/**
 * Restoring into a kernel the operation starts itself: if the restore fails or is aborted (the
 * caller's AbortSignal, e.g. wired to SIGINT/SIGTERM), the kernel it started is shut down, never
 * left running half-restored with nobody holding it.
 */
import { launchKernel, type Kernel, type LaunchOptions } from '@nbferry/kernel';
import type { StoredCheckpoint } from '@nbferry/store';
import type { CheckpointBody } from './manifest-body.js';
import { restore, type RestoreOptions, type RestoreReport } from './restore.js';

export async function restoreToNewKernel(
  source: string | StoredCheckpoint<CheckpointBody>,
  launch: LaunchOptions,
  options: RestoreOptions = {},
): Promise<{ kernel: Kernel; report: RestoreReport }> {
  const kernel = await launchKernel({ ...launch, signal: options.signal ?? launch.signal });
  try {
    const report = await restore(source, kernel.client, options);
    options.signal?.throwIfAborted();
    return { kernel, report };
  } catch (error) {
    await kernel.dispose().catch(() => {});
    throw error;
  }
}
