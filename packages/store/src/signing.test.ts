import { createHash, generateKeyPairSync } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { KeyFileError, StoreError, UntrustedCheckpointError } from './errors.js';
import { LocalStore, openCheckpoint } from './local-store.js';
import { MANIFEST_FILE, decodeManifest, encodeManifest } from './manifest.js';
import { SIGNATURE_FILE, configuredKey, readKeyFile, writeKeyFile, type CheckpointKey } from './signing.js';

const env = { python: '3.11.7', platform: 'linux-x86_64', packages: {} };

/** A committed checkpoint with one blob whose checksum is `algorithm` (sha256-8m by default). */
async function commit(store: LocalStore, n: number, algorithm = 'sha256-8m', signWith?: CheckpointKey) {
  const draft = await store.begin();
  const data = Buffer.alloc(1000, n);
  await writeFile(join(draft.blobsDir, 'a.nbf'), data);
  const inner = createHash('sha256').update(data).digest();
  const checksum = `${algorithm}:${createHash('sha256').update(algorithm === 'sha256' ? data : inner).digest('hex')}`;
  return draft.commit({ environment: env, blobs: [{ file: 'a.nbf', bytes: data.length, checksum, group: 'g', variables: ['a'] }], body: { n } }, { signWith });
}

describe('key files and signed checkpoints', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'nbf-sign-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('writes a 0600 private key and its public key, never overwriting, and reads both back', async () => {
    const path = join(dir, 'key');
    const written = await writeKeyFile(path);
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect(await readFile(path, 'utf8')).toMatch(/^-----BEGIN PRIVATE KEY-----/);
    expect(await readFile(written.publicKeyPath, 'utf8')).toMatch(/^-----BEGIN PUBLIC KEY-----/);
    const priv = await readKeyFile(path);
    const pub = await readKeyFile(written.publicKeyPath);
    expect(priv.keyId).toBe(written.keyId);
    expect(pub.keyId).toBe(written.keyId);
    expect(priv.privateKey).toBeDefined();
    expect(pub.privateKey).toBeUndefined();
    await expect(writeKeyFile(path)).rejects.toBeInstanceOf(KeyFileError);
    expect((await readKeyFile(path)).keyId).toBe(written.keyId); // the existing key is untouched
  });

  it('takes the key from --key-file, else NBFERRY_KEY_FILE, else none', async () => {
    const a = await writeKeyFile(join(dir, 'a'));
    const b = await writeKeyFile(join(dir, 'b'));
    expect((await configuredKey(a.path, { NBFERRY_KEY_FILE: b.path }))?.keyId).toBe(a.keyId);
    expect((await configuredKey(undefined, { NBFERRY_KEY_FILE: b.publicKeyPath }))?.keyId).toBe(b.keyId);
    expect(await configuredKey(undefined, { NBFERRY_KEY_FILE: '' })).toBeUndefined();
    expect(await configuredKey(undefined, {})).toBeUndefined();
    await expect(configuredKey(undefined, { NBFERRY_KEY_FILE: join(dir, 'missing') })).rejects.toBeInstanceOf(KeyFileError);
  });

  it('refuses a private key others can read, a non-Ed25519 key, garbage and a missing file', async () => {
    const path = join(dir, 'key');
    await writeKeyFile(path);
    await chmod(path, 0o644);
    await expect(readKeyFile(path)).rejects.toThrow(/chmod 600/);
    const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({ type: 'spki', format: 'pem' }) as string;
    await writeFile(join(dir, 'rsa.pub'), rsa);
    await expect(readKeyFile(join(dir, 'rsa.pub'))).rejects.toThrow(/rsa key; nbferry verifies Ed25519/);
    await writeFile(join(dir, 'junk'), 'not a key');
    await expect(readKeyFile(join(dir, 'junk'))).rejects.toBeInstanceOf(KeyFileError);
    await expect(readKeyFile(join(dir, 'none'))).rejects.toBeInstanceOf(KeyFileError);
  });

  it('signs on commit and verifies with the public key only; refuses unsigned, other-key and edited manifests', async () => {
    const key = await readKeyFile((await writeKeyFile(join(dir, 'key'))).path);
    const pub = await readKeyFile(`${join(dir, 'key')}.pub`);
    const other = await readKeyFile((await writeKeyFile(join(dir, 'other'))).path);
    const root = join(dir, 'store');

    const signed = await commit(new LocalStore(root, { key }), 1);
    expect(existsSync(join(signed.dir, SIGNATURE_FILE))).toBe(true);
    expect(signed.signatureStatus).toEqual({ state: 'verified', keyId: key.keyId });
    expect((await openCheckpoint(root, { key: pub })).signatureStatus).toEqual({ state: 'verified', keyId: key.keyId });
    expect((await openCheckpoint(root)).signatureStatus).toEqual({ state: 'signed', keyId: key.keyId });

    const refusal = (p: Promise<unknown>) => p.then(() => undefined, (e: unknown) => e as UntrustedCheckpointError);
    const byOther = await refusal(openCheckpoint(root, { key: other }));
    expect(byOther).toBeInstanceOf(UntrustedCheckpointError);
    expect(byOther?.reason).toBe('other-key');
    expect((await openCheckpoint(root, { key: other, trustUnsigned: true })).signatureStatus).toEqual({ state: 'signed', keyId: key.keyId });

    const unsigned = await commit(new LocalStore(root), 2);
    expect((await refusal(openCheckpoint(unsigned.dir, { key: pub })))?.reason).toBe('unsigned');
    expect((await openCheckpoint(unsigned.dir, { key: pub, trustUnsigned: true })).signatureStatus).toEqual({ state: 'unsigned' });
    // An opened checkpoint is checked again with a restore's own options.
    expect(() => unsigned.checkTrust({ key: pub })).toThrow(UntrustedCheckpointError);

    // Edited after signing, with a valid manifest digest: the signature no longer matches, and
    // trusting unsigned checkpoints does not excuse tampering with a signed one.
    const path = join(signed.dir, MANIFEST_FILE);
    const manifest = decodeManifest<{ n: number }>(await readFile(path), path);
    await writeFile(path, encodeManifest({ ...manifest, body: { n: 666 } }));
    expect((await refusal(openCheckpoint(signed.dir, { key: pub })))?.reason).toBe('bad-signature');
    expect((await refusal(openCheckpoint(signed.dir, { key: pub, trustUnsigned: true })))?.reason).toBe('bad-signature');
  });

  it('never signs forgeable crc32 blob sums, and refuses a signature over them', async () => {
    const key = await readKeyFile((await writeKeyFile(join(dir, 'key'))).path);
    const root = join(dir, 'store');
    const error = await commit(new LocalStore(root), 1, 'crc32-8m', key).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StoreError);
    expect((error as StoreError).code).toBe('SIGN_WEAK_CHECKSUM');
    expect(await new LocalStore(root).list()).toEqual([]);
    // A whole-file sha256 is cryptographic too.
    await expect(commit(new LocalStore(root), 2, 'sha256', key)).resolves.toBeDefined();
  });
});
