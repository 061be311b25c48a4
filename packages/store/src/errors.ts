/** Typed store errors: what happened, and what to do. None of them ever touches an earlier checkpoint. */

import { NbferryError } from '@nbferry/protocol';

export class StoreError extends NbferryError {
  override name = 'StoreError';
}

export class CheckpointNotFoundError extends StoreError {
  override name = 'CheckpointNotFoundError';
  constructor(path: string, detail: string) {
    super(`no checkpoint at ${path}: ${detail}`, 'CHECKPOINT_NOT_FOUND');
  }
}

/** The manifest is damaged, tampered with, or not an nbferry checkpoint. */
export class CorruptCheckpointError extends StoreError {
  override name = 'CorruptCheckpointError';
  constructor(path: string, detail: string) {
    super(
      `checkpoint ${path} is damaged or was modified: ${detail}. ` +
        'Restore an earlier checkpoint of the same store (nbferry inspect <store> lists them).',
      'CHECKPOINT_CORRUPT',
    );
  }
}

export class UnsupportedCheckpointVersionError extends StoreError {
  override name = 'UnsupportedCheckpointVersionError';
  constructor(path: string, version: number, supported: number) {
    super(`checkpoint ${path} has format version ${version}; this nbferry reads version ${supported}: upgrade nbferry`, 'CHECKPOINT_VERSION');
  }
}

/** Writing failed (disk full, permissions, I/O error). The new checkpoint was discarded. */
export class CheckpointWriteError extends StoreError {
  override name = 'CheckpointWriteError';
  constructor(path: string, cause: unknown) {
    const errno = (cause as NodeJS.ErrnoException | undefined)?.code;
    const hint =
      errno === 'ENOSPC' || errno === 'EDQUOT'
        ? 'the disk is full: free space or choose another store'
        : errno === 'EACCES' || errno === 'EPERM'
          ? 'permission denied: choose a writable store'
          : `${(cause as Error | undefined)?.message ?? String(cause)}`;
    super(`could not write checkpoint in ${path}: ${hint}. The previous checkpoint is intact.`, 'CHECKPOINT_WRITE_FAILED', { cause });
  }
}
