/** Typed recorder errors. */

import { NbferryError } from '@nbferry/protocol';

export class RecorderError extends NbferryError {
  override name = 'RecorderError';
}

/** The shim could not be injected (old IPython, a different shim version already running, ...). */
export class ShimInjectionError extends RecorderError {
  override name = 'ShimInjectionError';
  constructor(detail: string, options?: { cause?: unknown }) {
    super(`could not install the nbferry shim in the kernel: ${detail}`, 'SHIM_INJECTION_FAILED', options);
  }
}

/** The shim answered a request with an error (its message is the shim's own). */
export class ShimRequestError extends RecorderError {
  override name = 'ShimRequestError';
  constructor(
    readonly op: string,
    detail: string,
  ) {
    super(`shim operation "${op}" failed in the kernel: ${detail}`, 'SHIM_REQUEST_FAILED');
  }
}

/** The shim's comm closed or never opened (kernel restarted, shim missing). */
export class ShimUnavailableError extends RecorderError {
  override name = 'ShimUnavailableError';
  constructor(detail: string) {
    super(`the nbferry shim is not reachable: ${detail}`, 'SHIM_UNAVAILABLE');
  }
}

/**
 * The shim's Python sources could not be read: a missing or incomplete directory (a broken
 * installation, a wrong NBFERRY_SHIM_DIR or `shimRoot`). `hint` says what to do for that origin.
 */
export class ShimSourcesError extends RecorderError {
  override name = 'ShimSourcesError';
  constructor(
    readonly root: string,
    detail: string,
    hint: string,
    options?: { cause?: unknown },
  ) {
    super(`cannot read the nbferry shim's Python sources in ${root}: ${detail}. ${hint}`, 'SHIM_SOURCES_UNREADABLE', options);
  }
}
