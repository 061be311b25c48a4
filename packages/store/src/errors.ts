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
    super(`checkpoint ${path} has format version ${version}; this nbferry reads versions 1 to ${supported}: upgrade nbferry`, 'CHECKPOINT_VERSION');
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

/**
 * A store entry that could lead outside the store or block a reader: a name with `..` or a
 * separator, a symlink, a FIFO or device, a file larger than the manifest says. Never opened.
 */
export class UnsafeStoreEntryError extends StoreError {
  override name = 'UnsafeStoreEntryError';
  constructor(
    readonly path: string,
    detail: string,
  ) {
    super(`refusing ${path}: ${detail}. The store may have been tampered with; restore an earlier checkpoint or another store.`, 'STORE_UNSAFE_ENTRY');
  }
}

/** A key file that cannot be used: missing, not an Ed25519 key, or readable by others. */
export class KeyFileError extends StoreError {
  override name = 'KeyFileError';
  constructor(path: string, detail: string, options?: { cause?: unknown }) {
    super(`key file ${path}: ${detail}`, 'KEY_FILE', options);
  }
}

/**
 * A key is configured and the checkpoint is unsigned, signed by another key, or its signature does
 * not match its manifest. Nothing of it was loaded or run.
 */
export class UntrustedCheckpointError extends StoreError {
  override name = 'UntrustedCheckpointError';
  constructor(
    readonly path: string,
    readonly reason: 'unsigned' | 'other-key' | 'bad-signature' | 'weak-checksum',
    detail: string,
  ) {
    super(
      `checkpoint ${path} is not trusted: ${detail}. Nothing from it was loaded or run. ` +
        (reason === 'other-key'
          ? 'Use the key it was signed with (nbferry inspect shows its key id), or trust it explicitly (trustUnsigned).'
          : reason === 'unsigned'
            ? 'Restore a checkpoint signed with your key, or trust this one explicitly (trustUnsigned) if you know where it came from.'
            : 'It was modified after signing: restore an earlier checkpoint.'),
      'CHECKPOINT_UNTRUSTED',
    );
  }
}
