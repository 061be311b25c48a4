/** Cancellation helpers: every call takes an AbortSignal and a timeout. */

export interface CallOptions {
  signal?: AbortSignal;
  /** Milliseconds; undefined means no timeout. */
  timeoutMs?: number;
}

/**
 * Runs `start` with a settle callback guarded by the caller's signal and a timeout.
 * `onCancel` undoes registration (e.g. removes a pending request) before the promise rejects.
 */
export function cancellable<T>(
  options: CallOptions,
  makeTimeoutError: (timeoutMs: number) => Error,
  makeAbortError: (reason: unknown) => Error,
  start: (resolve: (value: T) => void, reject: (error: Error) => void) => () => void,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const { signal, timeoutMs } = options;
    if (signal?.aborted) {
      reject(makeAbortError(signal.reason));
      return;
    }
    let timer: NodeJS.Timeout | undefined;
    let cleanup: () => void = () => {};
    const finish = () => {
      if (timer) clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    };
    const onAbort = () => {
      finish();
      cleanup();
      reject(makeAbortError(signal?.reason));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    if (timeoutMs !== undefined && Number.isFinite(timeoutMs)) {
      timer = setTimeout(() => {
        finish();
        cleanup();
        reject(makeTimeoutError(timeoutMs));
      }, timeoutMs);
    }
    cleanup = start(
      (value) => {
        finish();
        resolve(value);
      },
      (error) => {
        finish();
        reject(error);
      },
    );
  });
}

/** Resolves after `ms`, or rejects with the signal's reason. */
export function delay(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason as Error);
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason as Error);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
