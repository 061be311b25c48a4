/**
 * Typed errors of the kernel layer. Each says what happened and, where there is one, what to do.
 * `code` is stable for programmatic handling; messages are for people.
 */

import { NbferryError } from '@nbferry/protocol';

export class KernelError extends NbferryError {
  override name = 'KernelError';
}

/** The kernel process exited, or could not be spawned, before it became ready. */
export class KernelStartError extends KernelError {
  override name = 'KernelStartError';
  constructor(
    message: string,
    readonly exitCode: number | null,
    readonly signal: string | null,
    readonly stderrTail: string,
    options?: { cause?: unknown },
  ) {
    super(stderrTail ? `${message}\n--- kernel stderr (tail) ---\n${stderrTail}` : message, 'KERNEL_START_FAILED', options);
  }
}

/** The kernel did not answer within the start timeout; the process was killed. */
export class KernelStartTimeoutError extends KernelError {
  override name = 'KernelStartTimeoutError';
  constructor(
    readonly timeoutMs: number,
    readonly stderrTail: string,
  ) {
    super(
      `kernel did not become ready within ${timeoutMs} ms; it was stopped. ` +
        `Raise the start timeout on a loaded machine, or check the kernel's stderr:\n${stderrTail || '(empty)'}`,
      'KERNEL_START_TIMEOUT',
    );
  }
}

/** The kernel died (process exit, SIGKILL, OOM, or heartbeat lost). Pending work is lost. */
export class KernelDiedError extends KernelError {
  override name = 'KernelDiedError';
  constructor(
    readonly reason: string,
    readonly exitCode: number | null = null,
    readonly signal: string | null = null,
    readonly stderrTail = '',
  ) {
    super(
      `kernel died: ${reason}${exitCode !== null ? ` (exit code ${exitCode})` : ''}${signal ? ` (signal ${signal})` : ''}. ` +
        'Its in-memory state is gone; restore from the last checkpoint.' +
        (stderrTail ? `\n--- kernel stderr (tail) ---\n${stderrTail}` : ''),
      'KERNEL_DIED',
    );
  }
}

/** A request did not complete within its timeout. The kernel may still be working on it. */
export class RequestTimeoutError extends KernelError {
  override name = 'RequestTimeoutError';
  constructor(
    readonly msgType: string,
    readonly timeoutMs: number,
  ) {
    super(
      `${msgType} did not complete within ${timeoutMs} ms; the kernel may still be busy (interrupt it to stop the work)`,
      'REQUEST_TIMEOUT',
    );
  }
}

/** The caller's AbortSignal fired. */
export class RequestAbortedError extends KernelError {
  override name = 'RequestAbortedError';
  constructor(
    readonly msgType: string,
    reason?: unknown,
  ) {
    super(`${msgType} was aborted by the caller`, 'REQUEST_ABORTED', { cause: reason });
  }
}

/** The client was closed (shutdown or dispose) while the request was pending, or before it was made. */
export class KernelClosedError extends KernelError {
  override name = 'KernelClosedError';
  constructor(what: string) {
    super(`${what}: the kernel client is closed`, 'KERNEL_CLOSED');
  }
}

/** The kernel restarted while the request was pending; its namespace is empty now. */
export class KernelRestartedError extends KernelError {
  override name = 'KernelRestartedError';
  constructor(msgType: string) {
    super(`${msgType} was cancelled because the kernel restarted`, 'KERNEL_RESTARTED');
  }
}

/** A connection file that cannot be read or is missing required fields. */
export class ConnectionFileError extends KernelError {
  override name = 'ConnectionFileError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, 'BAD_CONNECTION_FILE', options);
  }
}

/** No kernelspec with that name was found in the Jupyter data paths. */
export class KernelSpecNotFoundError extends KernelError {
  override name = 'KernelSpecNotFoundError';
  constructor(
    readonly specName: string,
    readonly searched: string[],
  ) {
    super(
      `no kernelspec named "${specName}" in ${searched.join(', ')}; list them with "jupyter kernelspec list" or pass a Python path`,
      'KERNELSPEC_NOT_FOUND',
    );
  }
}
