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

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** The signal that stopped the command, if any. */
  get by(): NodeJS.Signals | undefined {
    return this.received;
  }

  get exitCode(): number {
    return this.received === 'SIGTERM' ? EXIT.terminated : EXIT.interrupted;
  }

  install(): void {
    process.on('SIGINT', this.handler);
    process.on('SIGTERM', this.handler);
  }

  uninstall(): void {
    process.off('SIGINT', this.handler);
    process.off('SIGTERM', this.handler);
  }

  private onSignal(signal: NodeJS.Signals): void {
    if (this.received) {
      process.stderr.write(`\nnbferry: ${signal} again: exiting now\n`);
      process.exit(this.exitCode);
    }
    this.received = signal;
    process.stderr.write(`\nnbferry: ${signal}: stopping and cleaning up (press Ctrl-C again to exit at once)\n`);
    setTimeout(() => {
      process.stderr.write('nbferry: cleanup is taking too long: exiting now\n');
      process.exit(this.exitCode);
    }, CLEANUP_BUDGET_MS).unref();
    this.controller.abort(new InterruptedError(signal));
  }
}
