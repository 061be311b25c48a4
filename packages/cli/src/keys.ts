/**
 * The key a command signs or verifies checkpoints with: `--key-file F`, else $NBFERRY_KEY_FILE,
 * else none (checkpoints are then neither signed nor verified). Read before any kernel starts, so a
 * key file that cannot be used fails the command before anything is run or written.
 */
import { configuredKey, KEY_FILE_ENV, KeyFileError, type CheckpointKey } from '@nbferry/store';
import type { SignatureDocument } from './output/documents.js';

/** For commands that write checkpoints: the key must hold the private half to sign. */
export async function signingKey(keyFile: string | undefined): Promise<CheckpointKey | undefined> {
  const key = await configuredKey(keyFile);
  if (key && !key.privateKey) {
    throw new KeyFileError(
      key.path ?? keyFile ?? `$${KEY_FILE_ENV}`,
      'holds only a public key: writing a signed checkpoint needs the private key file (the one nbferry keygen wrote, without .pub). ' +
        'Nothing was run or written',
    );
  }
  return key;
}

/** For commands that read checkpoints: a public key suffices. */
export function verifyingKey(keyFile: string | undefined): Promise<CheckpointKey | undefined> {
  return configuredKey(keyFile);
}

/** One line on a checkpoint's signature, for text reports. */
export function describeSignature(status: SignatureDocument | null): string {
  if (!status) return 'none (nothing was written)';
  switch (status.state) {
    case 'verified':
      return `verified: signed by key ${status.keyId ?? '?'}`;
    case 'signed':
      return `signed by key ${status.keyId ?? '?'}, not verified (no key given, or another key trusted with --trust-unsigned; check it with --key-file or ${KEY_FILE_ENV})`;
    case 'unsigned':
      return 'unsigned (anyone who can write the store could have changed it; nbferry keygen and --key-file sign checkpoints)';
  }
}
