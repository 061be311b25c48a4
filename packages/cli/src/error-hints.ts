/**
 * Library errors name the library option that would change the outcome (`trustUnsigned`,
 * `replaceExisting`); on the command line the user needs the flag instead.
 */
import { TargetNamespaceConflictError } from '@nbferry/migrate';
import { KEY_FILE_ENV, UntrustedCheckpointError } from '@nbferry/store';

export function cliHint(error: unknown): string | undefined {
  if (error instanceof UntrustedCheckpointError && (error.reason === 'unsigned' || error.reason === 'other-key')) {
    return `On the command line: --trust-unsigned accepts it; --key-file (or ${KEY_FILE_ENV}) chooses the key.`;
  }
  if (error instanceof TargetNamespaceConflictError) {
    return 'On the command line: --replace-existing overwrites them; without --connection-file the restore goes into a fresh kernel.';
  }
  return undefined;
}
