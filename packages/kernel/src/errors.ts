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
      `${msgType} did not complete within ${timeoutMs} ms; the kernel may still be busy (interrupt it to stop the work, ` +
        'or raise timeoutMs; CLI --timeout)',
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

/**
 * Something answers at the connection's sockets, but every message it sends fails the signature
 * check: the connection file's key (or signature_scheme) is not the kernel's. The kernel is alive.
 */
export class KernelKeyMismatchError extends KernelError {
  override name = 'KernelKeyMismatchError';
  constructor(
    readonly where: string,
    readonly forged: number,
  ) {
    super(
      `the kernel at ${where} is running, but its messages (${forged} so far) do not verify with the connection file's key: ` +
        'the key or signature_scheme does not match the kernel\'s. Use the connection file the kernel wrote ' +
        '(nothing was sent to it that it accepted; its state is untouched)',
      'KERNEL_KEY_MISMATCH',
    );
  }
}

/** Nothing answered at the connection's sockets within the timeout. The kernel may be alive elsewhere. */
export class KernelUnreachableError extends KernelError {
  override name = 'KernelUnreachableError';
  constructor(
    readonly where: string,
    readonly timeoutMs: number,
    detail = '',
  ) {
    super(
      `no kernel answered at ${where} within ${timeoutMs} ms${detail ? ` (${detail})` : ''}: is it running, and is this its ` +
        'connection file (ports, transport and ip as the kernel wrote them)? On a loaded machine raise timeoutMs',
      'KERNEL_UNREACHABLE',
    );
  }
}

/**
 * The kernel process is there but its control channel stopped answering while a request was
 * pending (RequestOptions.unresponsiveMs): its messaging is wedged. Its state may be intact.
 */
export class KernelUnresponsiveError extends KernelError {
  override name = 'KernelUnresponsiveError';
  constructor(
    readonly msgType: string,
    readonly unresponsiveMs: number,
  ) {
    super(
      `${msgType} was given up: the kernel did not answer on its control channel for ${unresponsiveMs} ms. ` +
        'Its message handling is wedged (user code may have replaced a builtin such as len or isinstance) or C code ' +
        'held the interpreter lock that long. Interrupt or restart the kernel, or raise unresponsiveMs',
      'KERNEL_UNRESPONSIVE',
    );
  }
}
