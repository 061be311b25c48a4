/**
 * Where a restored kernel starts. The manifest records the source's working directory (reruns may
 * read relative paths), but a manifest is input: it never picks the target's directory unless the
 * caller consents, and even then only an absolute path to an existing directory.
 */
import { statSync } from 'node:fs';
import { isAbsolute } from 'node:path';
import type { StoredCheckpoint } from '@nbferry/store';
import type { CheckpointBody } from './manifest-body.js';

export interface WorkingDirectoryOptions {
  /** The caller consents to starting the target in the checkpoint's recorded directory. */
  useCheckpointCwd?: boolean;
}

/** The directory to start a restore's target in, or undefined (the caller's own choice then applies). */
export function checkpointWorkingDirectory(
  checkpoint: Pick<StoredCheckpoint<CheckpointBody>, 'manifest'>,
  options: WorkingDirectoryOptions = {},
): string | undefined {
  if (!options.useCheckpointCwd) return undefined;
  const cwd: unknown = checkpoint.manifest.body?.cwd;
  if (typeof cwd !== 'string' || !isAbsolute(cwd) || cwd.includes('\0')) return undefined;
  try {
    return statSync(cwd).isDirectory() ? cwd : undefined;
  } catch {
    return undefined;
  }
}
