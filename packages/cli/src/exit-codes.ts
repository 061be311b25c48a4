/** The nbferry command's exit statuses: stable, documented in --help and the README. */
import { KernelError } from '@nbferry/kernel';
import { CheckpointLossError, MigrationError } from '@nbferry/migrate';
import { NbferryError, NotebookFormatError } from '@nbferry/protocol';
import { RecorderError } from '@nbferry/recorder';
import { GcBusyError, KeyFileError, StoreBusyError, StoreError } from '@nbferry/store';
import { InterruptedError, UsageError } from './errors.js';

export const EXIT = {
  /** Done, and nothing was lost. */
  ok: 0,
  /** Done, but not whole: a variable lost or come back different, a checkpoint refused for loss, a notebook cell failed, a damaged blob. */
  incomplete: 1,
  /** Bad command line or input (unknown option, missing argument, no such notebook, an unusable key file). */
  usage: 2,
  /** The kernel failed: did not start, died, stopped answering, or the shim could not be installed. */
  kernel: 3,
  /** The checkpoint or store failed: missing, corrupt, unwritable, made by an incompatible environment; or nothing to undo. */
  checkpoint: 4,
  /** A bug in nbferry (an error it did not expect). */
  internal: 5,
  /** The store is busy: another process is garbage-collecting it. Nothing was changed; try again later. */
  busy: 75,
  /** Interrupted by SIGINT (Ctrl-C) / SIGTERM; what the command started was stopped and cleaned up. */
  interrupted: 130,
  terminated: 143,
  /** The reader of stdout went away (`nbferry ... | head`); cleaned up as when interrupted. */
  brokenPipe: 141,
} as const;

export const EXIT_CODES_HELP = `
Exit status:
  0    ok: done, nothing lost
  1    done but not whole: a variable lost or come back different (see
       --allow-different), a checkpoint refused because it would lose variables
       (see --allow-loss), a notebook cell failed, a damaged blob
  2    usage: unknown command or option, bad option value, missing or unreadable
       notebook, unusable key file (missing, public-only where signing is needed)
  3    kernel failure: did not start, died, stopped answering, timed out (--timeout,
       --cell-timeout, --unresponsive), shim not installed
  4    checkpoint or store failure: not found, corrupt, untrusted (unsigned or another
       key's: see --trust-unsigned), not writable, incompatible environment,
       target kernel already has the checkpoint's variables (see --replace-existing),
       nothing to undo (undo: no checkpoint to go back to, or a kernel not recorded)
  5    internal error (a bug: please report it)
  75   store busy: another process is garbage-collecting it (nbferry gc); nothing
       was changed, try again when it is done
  130  interrupted (SIGINT, Ctrl-C); 143 terminated (SIGTERM); 141 stdout closed
       (| head). Kernels the command started are stopped and its temporary files removed.
`;

export function exitCodeFor(error: unknown): number {
  if (error instanceof InterruptedError) return error.signal === 'SIGTERM' ? EXIT.terminated : EXIT.interrupted;
  if (error instanceof CheckpointLossError) return EXIT.incomplete;
  // A key file is the caller's input, like the notebook: missing, unreadable, or public-only where signing is needed.
  if (error instanceof GcBusyError || error instanceof StoreBusyError) return EXIT.busy;
  if (error instanceof UsageError || error instanceof NotebookFormatError || error instanceof KeyFileError) return EXIT.usage;
  if (error instanceof KernelError || error instanceof RecorderError) return EXIT.kernel;
  if (error instanceof StoreError || error instanceof MigrationError) return EXIT.checkpoint;
  if (error instanceof NbferryError) return EXIT.checkpoint;
  return EXIT.internal;
}
