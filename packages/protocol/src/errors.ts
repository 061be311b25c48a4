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
