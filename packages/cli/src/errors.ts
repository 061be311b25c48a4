/** Errors of the command line itself. */
import { NbferryError } from '@nbferry/protocol';

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
