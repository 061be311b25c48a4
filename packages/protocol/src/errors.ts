/** A message that could not be decoded: malformed frames, bad JSON, or a wrong signature. */
export class ProtocolError extends Error {
  override readonly name = 'ProtocolError';
  constructor(
    message: string,
    readonly reason: 'bad-signature' | 'malformed',
  ) {
    super(message);
  }
}
