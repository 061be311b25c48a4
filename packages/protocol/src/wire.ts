/**
 * The Jupyter wire format over ZeroMQ: identities, `<IDS|MSG>`, HMAC signature, four JSON frames,
 * then raw buffers. Signatures are HMAC-SHA256 over the four JSON frames, compared in constant time.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { ProtocolError, UnsupportedSignatureSchemeError } from './errors.js';
import type { JupyterMessage } from './message.js';

const DELIMITER = Buffer.from('<IDS|MSG>');

export type SignatureScheme = 'hmac-sha256' | 'hmac-sha512' | 'hmac-sha1';
export const SIGNATURE_SCHEMES: readonly SignatureScheme[] = ['hmac-sha256', 'hmac-sha512', 'hmac-sha1'];

export function isSignatureScheme(value: unknown): value is SignatureScheme {
  return typeof value === 'string' && (SIGNATURE_SCHEMES as readonly string[]).includes(value);
}

export class WireCodec {
  private readonly key: Buffer;
  private readonly algorithm: string;

  /** An empty key disables signing, as Jupyter specifies. An unknown scheme is refused here, not at the first message. */
  constructor(key: string, scheme: SignatureScheme = 'hmac-sha256') {
    if (!isSignatureScheme(scheme)) throw new UnsupportedSignatureSchemeError(scheme);
    this.key = Buffer.from(key, 'utf8');
    this.algorithm = scheme.replace(/^hmac-/, '');
  }

  encode(msg: JupyterMessage<unknown>): Buffer[] {
    const parts = [msg.header, msg.parent_header, msg.metadata, msg.content].map((part) =>
      Buffer.from(JSON.stringify(part), 'utf8'),
    );
    const identities = (msg.identities ?? []).map(toBuffer);
    return [...identities, DELIMITER, Buffer.from(this.sign(parts), 'ascii'), ...parts, ...msg.buffers.map(toBuffer)];
  }

  /** Decodes and verifies one multipart message. Throws ProtocolError; never returns a partial message. */
  decode(frames: readonly Uint8Array[]): JupyterMessage {
    const delimiterAt = frames.findIndex((frame) => DELIMITER.equals(toBuffer(frame)));
    if (delimiterAt < 0 || frames.length < delimiterAt + 6) {
      throw new ProtocolError(`malformed message: ${frames.length} frames, delimiter at ${delimiterAt}`, 'malformed');
    }
    const signature = toBuffer(frames[delimiterAt + 1]!);
    const parts = frames.slice(delimiterAt + 2, delimiterAt + 6).map(toBuffer);
    if (this.key.length > 0) {
      const expected = Buffer.from(this.sign(parts), 'ascii');
      if (signature.length !== expected.length || !timingSafeEqual(signature, expected)) {
        throw new ProtocolError('message signature does not match the connection key', 'bad-signature');
      }
    }
    let decoded: unknown[];
    try {
      decoded = parts.map((part) => JSON.parse(part.toString('utf8')) as unknown);
    } catch (error) {
      throw new ProtocolError(`malformed message JSON: ${(error as Error).message}`, 'malformed');
    }
    const [header, parent, metadata, content] = decoded;
    if (!isObject(header) || typeof header.msg_type !== 'string' || typeof header.msg_id !== 'string') {
      throw new ProtocolError('malformed message header', 'malformed');
    }
    if (!isObject(parent) || !isObject(metadata) || !isObject(content)) {
      throw new ProtocolError('malformed message: parent_header, metadata and content must be objects', 'malformed');
    }
    return {
      header: header as unknown as JupyterMessage['header'],
      parent_header: parent as JupyterMessage['parent_header'],
      metadata: metadata as JupyterMessage['metadata'],
      content: content as JupyterMessage['content'],
      buffers: frames.slice(delimiterAt + 6).map(toBuffer),
      identities: frames.slice(0, delimiterAt).map(toBuffer),
    };
  }

  private sign(parts: readonly Buffer[]): string {
    if (this.key.length === 0) return '';
    const hmac = createHmac(this.algorithm, this.key);
    for (const part of parts) hmac.update(part);
    return hmac.digest('hex');
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Views any Uint8Array as a Buffer without copying. */
export function toBuffer(bytes: Uint8Array | ArrayBuffer | DataView): Buffer {
  if (Buffer.isBuffer(bytes)) return bytes;
  if (bytes instanceof ArrayBuffer) return Buffer.from(bytes);
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
