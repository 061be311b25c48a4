/**
 * The root of every error nbferry throws on purpose: `code` is stable for programs, the message is
 * for people (what happened, and what to do). Each package derives its own family from it.
 */
export class NbferryError extends Error {
  override name = 'NbferryError';
  constructor(
    message: string,
    readonly code: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** A message that could not be decoded: malformed frames, bad JSON, or a wrong signature. */
export class ProtocolError extends NbferryError {
  override name = 'ProtocolError';
  constructor(
    message: string,
    readonly reason: 'bad-signature' | 'malformed',
  ) {
    super(message, reason === 'bad-signature' ? 'BAD_SIGNATURE' : 'MALFORMED_MESSAGE');
  }
}

/** A connection's `signature_scheme` that Jupyter does not define (or Node cannot compute). */
export class UnsupportedSignatureSchemeError extends NbferryError {
  override name = 'UnsupportedSignatureSchemeError';
  constructor(readonly scheme: unknown) {
    super(
      `unsupported signature_scheme ${JSON.stringify(String(scheme))}: use one of hmac-sha256, hmac-sha512, hmac-sha1 ` +
        '(the kernel\'s connection file says which)',
      'UNSUPPORTED_SIGNATURE_SCHEME',
    );
  }
}
