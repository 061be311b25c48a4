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

/**
 * The kernel runs a pip-installed shim (started by the nbferry kernelspec, recording from its first
 * cell) of another version than this coordinator's. Replacing it would drop that history.
 */
export class InstalledShimVersionError extends RecorderError {
  override name = 'InstalledShimVersionError';
  constructor(
    readonly installed: string,
    readonly expected: string,
  ) {
    super(
      `the kernel runs the installed nbferry_shim ${installed}, this nbferry needs ${expected}: ` +
        `install nbferry_shim ${expected} in the kernels' Python (pip install nbferry_shim==${expected}) and restart the kernel, ` +
        `or attach with replaceInstalledShim (the kernel's recorded history is then lost)`,
      'SHIM_INSTALLED_VERSION_MISMATCH',
    );
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

/** A shim operation got no answer in time: the kernel is busy (a running cell) or stopped answering. */
export class ShimTimeoutError extends RecorderError {
  override name = 'ShimTimeoutError';
  constructor(
    readonly op: string,
    readonly timeoutMs: number,
    readonly byDefault: boolean,
  ) {
    super(
      `shim operation "${op}" got no answer within ${timeoutMs} ms${byDefault ? ' (the default)' : ''}: the kernel is busy ` +
        'running a cell, or stopped answering (user code may have replaced something it needs). Interrupt or restart ' +
        'the kernel, or raise the timeout (timeoutMs; CLI --timeout)',
      'SHIM_TIMEOUT',
    );
  }
}

/** The kernel handled a shim request but no reply came: the shim could not send it. */
export class ShimNoReplyError extends RecorderError {
  override name = 'ShimNoReplyError';
  constructor(readonly op: string) {
    super(
      `the kernel handled shim operation "${op}" but sent no reply: its messaging is broken (user code may have ` +
        'replaced a function the kernel needs, e.g. json.dumps). Undo that change or restart the kernel',
      'SHIM_NO_REPLY',
    );
  }
}
