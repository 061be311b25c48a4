/**
 * Ctrl-C and SIGTERM: the first signal aborts the running command through its AbortSignal, so
 * it stops what it started (kernels shut down, temporary directories removed) on its usual
 * cleanup paths; a second signal, or cleanup taking too long, exits at once (our kernels are
 * still killed by the kernel package's exit hook).
 */
import { InterruptedError } from './errors.js';
import { EXIT } from './exit-codes.js';

const CLEANUP_BUDGET_MS = 20_000;

export class Interruption {
  private readonly controller = new AbortController();
  private received: NodeJS.Signals | undefined;
  private readonly handler = (signal: NodeJS.Signals) => this.onSignal(signal);
  /** How long cleanup may take after the first signal (`nbferry serve --grace` extends it). */
  cleanupBudgetMs = CLEANUP_BUDGET_MS;

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** The signal that stopped the command, if any. */
  get by(): NodeJS.Signals | undefined {
    return this.received;
  }

  get exitCode(): number {
    return this.received === 'SIGTERM' ? EXIT.terminated : this.received === 'SIGPIPE' ? EXIT.brokenPipe : EXIT.interrupted;
  }

  install(): void {
    process.on('SIGINT', this.handler);
    process.on('SIGTERM', this.handler);
    process.stdout.on('error', this.onOutputError);
    process.stderr.on('error', ignore);
  }

  uninstall(): void {
    process.off('SIGINT', this.handler);
    process.off('SIGTERM', this.handler);
    process.stdout.off('error', this.onOutputError);
    process.stderr.off('error', ignore);
  }

  /** `nbferry ... | head`: the reader went away. Stop and clean up as for a signal (instead of crashing). */
  private readonly onOutputError = (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE' && !this.received) this.stop('SIGPIPE');
  };

  private onSignal(signal: NodeJS.Signals): void {
    if (this.received) {
      process.stderr.write(`\nnbferry: ${signal} again: exiting now\n`);
      process.exit(this.exitCode);
    }
    process.stderr.write(`\nnbferry: ${signal}: stopping and cleaning up (press Ctrl-C again to exit at once)\n`);
    this.stop(signal);
  }

  private stop(signal: NodeJS.Signals): void {
    this.received = signal;
    setTimeout(() => {
      process.stderr.write('nbferry: cleanup is taking too long: exiting now\n');
      process.exit(this.exitCode);
    }, this.cleanupBudgetMs).unref();
    this.controller.abort(new InterruptedError(signal));
  }
}

function ignore(): void {}

/**
 * For work that started nothing to clean up (reading a store): stop waiting for it as soon as the
 * command is interrupted, instead of after it finishes.
 */
export function untilInterrupted<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason as Error);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason as Error);
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}
