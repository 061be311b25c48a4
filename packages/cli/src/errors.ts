/** Errors of the command line itself. */
import { NbferryError } from '@nbferry/protocol';
import { CheckpointNotFoundError } from '@nbferry/store';

/** Bad command-line input: says what was wrong and what is accepted. Exit status 2. */
export class UsageError extends NbferryError {
  override name = 'UsageError';
  constructor(message: string) {
    super(message, 'USAGE');
  }
}

/** The command was stopped by a signal (Ctrl-C or SIGTERM); the reason of its AbortSignal. */
export class InterruptedError extends NbferryError {
  override name = 'InterruptedError';
  constructor(readonly signal: NodeJS.Signals) {
    super(`interrupted by ${signal}`, 'INTERRUPTED');
  }
}

/** `restore STORE --checkpoint ID` with an id the store does not hold. Exit status 4, as any missing checkpoint. */
export class UnknownCheckpointIdError extends CheckpointNotFoundError {
  override name = 'UnknownCheckpointIdError';
  constructor(
    readonly store: string,
    readonly id: string,
  ) {
    super(store, `the store has no checkpoint with id ${JSON.stringify(id)}; \`nbferry log ${store}\` lists its checkpoint ids`);
  }
}
