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

/** The shim sent a history record that cannot be one (a shim of another version, or damage). */
export class MalformedRecordError extends RecorderError {
  override name = 'MalformedRecordError';
  constructor(detail: string) {
    super(`the shim sent a malformed history record: ${detail}. Re-attach the recorder; if it persists, the kernel's shim is not this nbferry's`, 'MALFORMED_SHIM_RECORD');
  }
}

/** Records must arrive in seq order without gaps; one did not (the history would be wrong). */
export class HistoryGapError extends RecorderError {
  override name = 'HistoryGapError';
  constructor(
    readonly got: number,
    readonly expected: number,
  ) {
    super(`history gap: got record ${got}, expected ${expected}; re-sync the recorder (Recorder.sync) to fetch the missing records`, 'HISTORY_GAP');
  }
}
