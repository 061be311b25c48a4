/**
 * Signed checkpoints (Ed25519).
 *
 * Why Ed25519 and not HMAC: a restorer needs only the public key, so a machine that restores
 * cannot forge checkpoints, and the public key can be handed out freely. node:crypto has it.
 *
 * Key files are standard PEM, the same as `openssl genpkey -algorithm ed25519` writes:
 *   - private key: PKCS#8 (`-----BEGIN PRIVATE KEY-----`), mode 0600; signs and verifies;
 *   - public key: SPKI (`-----BEGIN PUBLIC KEY-----`), `<key file>.pub`; verifies only.
 * A key's id is the first 16 hex digits of SHA-256 over its raw 32-byte public key.
 *
 * What is signed: a statement over the SHA-256 of the manifest file's bytes (the manifest commits to
 * every blob by `sha256-8m`, and holds the history's cell code, the plan and the fingerprints). The
 * signature lives beside the manifest in `manifest.sig` (JSON), so a content-addressed store that
 * names manifests by their hash carries it unchanged.
 */
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';
import { constants } from 'node:fs';
import { open, stat, unlink } from 'node:fs/promises';
import { KeyFileError } from './errors.js';

export const SIGNATURE_FILE = 'manifest.sig';
const STATEMENT_PREFIX = Buffer.from('nbferry-manifest-signature-v1\0', 'latin1');

export interface CheckpointKey {
  /** First 16 hex digits of SHA-256 over the raw public key. */
  keyId: string;
  publicKey: KeyObject;
  /** Present when the key file holds the private key (it can sign). */
  privateKey?: KeyObject;
  /** The file it was read from (for messages; the key itself is never printed). */
  path?: string;
}

/** The signature file's content. */
export interface ManifestSignature {
  format: 'nbferry-signature';
  version: 1;
  scheme: 'ed25519';
  keyId: string;
  /** `sha256:<hex>` of the manifest file's bytes. */
  manifest: string;
  /** Base64 Ed25519 signature over the statement (prefix + manifest digest). */
  signature: string;
}

/**
 * Writes a new Ed25519 key: the private key at `path` (mode 0600, never overwriting an existing
 * file) and the public key at `<path>.pub` (what restorers need).
 */
export async function writeKeyFile(path: string): Promise<{ keyId: string; path: string; publicKeyPath: string }> {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const publicKeyPath = `${path}.pub`;
  const privatePem = privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
  const publicPem = publicKey.export({ type: 'spki', format: 'pem' }) as string;
  await writeNewFile(path, privatePem, 0o600);
  try {
    await writeNewFile(publicKeyPath, publicPem, 0o644);
  } catch (error) {
    await unlink(path).catch(() => {});
    throw error;
  }
  return { keyId: keyIdOf(publicKey), path, publicKeyPath };
}

async function writeNewFile(path: string, text: string, mode: number): Promise<void> {
  let handle;
  try {
    handle = await open(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, mode);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new KeyFileError(path, code === 'EEXIST' ? 'already exists; not overwriting a key (remove it first, or choose another path)' : `cannot create it (${code})`, { cause: error });
  }
  try {
    await handle.writeFile(text);
    await handle.chmod(mode); // the umask may have narrowed it; never widened past `mode`
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * Reads a key file: a private key (signs and verifies) or a public key (verifies). A private key
 * file that others can read is refused, as ssh does.
 */
export async function readKeyFile(path: string): Promise<CheckpointKey> {
  let text: string;
  let mode: number;
  try {
    mode = (await stat(path)).mode;
    const handle = await open(path, constants.O_RDONLY | constants.O_NONBLOCK);
    try {
      if (!(await handle.stat()).isFile()) throw new KeyFileError(path, 'is not a regular file');
      text = await handle.readFile('utf8');
    } finally {
      await handle.close();
    }
  } catch (error) {
    if (error instanceof KeyFileError) throw error;
    throw new KeyFileError(path, `cannot read it (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`, { cause: error });
  }
  if (text.includes('PRIVATE KEY')) {
    if ((mode & 0o077) !== 0) {
      throw new KeyFileError(path, `holds a private key but others can read it (mode ${(mode & 0o777).toString(8)}): chmod 600 it`);
    }
    let privateKey: KeyObject;
    try {
      privateKey = createPrivateKey(text);
    } catch {
      throw new KeyFileError(path, 'is not a PEM private key (write one with nbferry keygen)');
    }
    if (privateKey.asymmetricKeyType !== 'ed25519') throw new KeyFileError(path, `holds a ${privateKey.asymmetricKeyType} key; nbferry signs with Ed25519`);
    const publicKey = createPublicKey(privateKey);
    return { keyId: keyIdOf(publicKey), publicKey, privateKey, path };
  }
  let publicKey: KeyObject;
  try {
    publicKey = createPublicKey(text);
  } catch {
    throw new KeyFileError(path, 'is neither a PEM private nor public key (write one with nbferry keygen)');
  }
  if (publicKey.asymmetricKeyType !== 'ed25519') throw new KeyFileError(path, `holds a ${publicKey.asymmetricKeyType} key; nbferry verifies Ed25519`);
  return { keyId: keyIdOf(publicKey), publicKey, path };
}

/** The environment variable naming a key file when no `--key-file` is given. */
export const KEY_FILE_ENV = 'NBFERRY_KEY_FILE';

/**
 * The key a command should use: `keyFile` (e.g. `--key-file`), else the file named by
 * NBFERRY_KEY_FILE, else none (undefined: checkpoints are neither signed nor verified).
 */
export async function configuredKey(keyFile?: string, env: NodeJS.ProcessEnv = process.env): Promise<CheckpointKey | undefined> {
  const path = keyFile ?? (env[KEY_FILE_ENV] || undefined);
  return path === undefined ? undefined : readKeyFile(path);
}

export function keyIdOf(publicKey: KeyObject): string {
  const raw = publicKey.export({ format: 'jwk' }).x ?? '';
  return createHash('sha256').update(Buffer.from(raw, 'base64url')).digest('hex').slice(0, 16);
}

function statement(manifestBytes: Uint8Array): { digest: string; message: Buffer } {
  const digest = createHash('sha256').update(manifestBytes).digest();
  return { digest: `sha256:${digest.toString('hex')}`, message: Buffer.concat([STATEMENT_PREFIX, digest]) };
}

/** The signature of a manifest file's bytes, as stored in `manifest.sig`. */
export function signManifest(manifestBytes: Uint8Array, key: CheckpointKey): ManifestSignature {
  if (!key.privateKey) throw new KeyFileError(key.path ?? 'key', 'holds only a public key: signing needs the private key file');
  const { digest, message } = statement(manifestBytes);
  return {
    format: 'nbferry-signature',
    version: 1,
    scheme: 'ed25519',
    keyId: key.keyId,
    manifest: digest,
    signature: sign(null, message, key.privateKey).toString('base64'),
  };
}

export function encodeSignature(signature: ManifestSignature): Buffer {
  return Buffer.from(`${JSON.stringify(signature, null, 2)}\n`);
}

/** Parses a signature file; undefined if it is not one. */
export function decodeSignature(bytes: Uint8Array): ManifestSignature | undefined {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch {
    return undefined;
  }
  const s = value as Partial<ManifestSignature> | null;
  if (
    !s ||
    typeof s !== 'object' ||
    s.format !== 'nbferry-signature' ||
    s.version !== 1 ||
    s.scheme !== 'ed25519' ||
    typeof s.keyId !== 'string' ||
    typeof s.manifest !== 'string' ||
    typeof s.signature !== 'string'
  ) {
    return undefined;
  }
  return s as ManifestSignature;
}

/** Whether `signature` is `key`'s over exactly these manifest bytes. */
export function signatureMatches(manifestBytes: Uint8Array, signature: ManifestSignature, key: CheckpointKey): boolean {
  const { digest, message } = statement(manifestBytes);
  if (signature.keyId !== key.keyId || signature.manifest !== digest) return false;
  try {
    return verify(null, message, key.publicKey, Buffer.from(signature.signature, 'base64'));
  } catch {
    return false;
  }
}
