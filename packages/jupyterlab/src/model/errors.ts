/**
 * An error the extension shows the user. Mirrors @nbferry/protocol's NbferryError (a stable `code`
 * for programs, a message that says what happened and what to do) without importing it: that
 * package pulls node:crypto, which has no place in the browser bundle.
 */
export class NbferryUiError extends Error {
  override name = 'NbferryUiError';
  constructor(
    message: string,
    readonly code: string,
    options?: { cause?: unknown; httpStatus?: number },
  ) {
    super(message, options);
    this.httpStatus = options?.httpStatus ?? null;
  }
  /** The HTTP status of the answer that carried it, when it came from one. */
  readonly httpStatus: number | null;
}

/** A response the server side sent that does not have the contract's shape. */
export class BadResponseError extends NbferryUiError {
  override name = 'BadResponseError';
  constructor(what: string, detail: string) {
    super(
      `the nbferry server extension sent an unexpected ${what} (${detail}); ` +
        'check that nbferry-jupyterlab and nbferry serve are the same version',
      'BAD_RESPONSE',
    );
  }
}

/**
 * The message of an error body from the service (`{"error": {code, message}}`) or the server
 * extension (`{code, message}`), else a plain description of the HTTP status.
 */
export function errorFromBody(status: number, body: unknown): NbferryUiError {
  const inner = isRecord(body) && isRecord(body.error) ? body.error : body;
  if (isRecord(inner) && typeof inner.message === 'string' && inner.message !== '') {
    const code = typeof inner.code === 'string' && inner.code !== '' ? inner.code : `HTTP_${status}`;
    return new NbferryUiError(inner.message, code, { httpStatus: status });
  }
  if (status === 404) {
    return new NbferryUiError(
      'the nbferry server extension did not answer (HTTP 404): is nbferry-jupyterlab installed and enabled in this Jupyter Server?',
      'HTTP_404',
      { httpStatus: status },
    );
  }
  return new NbferryUiError(`the nbferry server extension answered HTTP ${status}`, `HTTP_${status}`, { httpStatus: status });
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
