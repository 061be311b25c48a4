// Signed checkpoints on real kernels: with a key, nothing from an unsigned, foreign or modified
// checkpoint is loaded or run; a forged blob (same CRC) is refused by its SHA-256 sums.
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { launchKernel, type Kernel } from '@nbferry/kernel';
import { checkpoint, restore, type CheckpointBody } from '@nbferry/migrate';
import { Recorder } from '@nbferry/recorder';
import {
  LocalStore,
  crc32,
  MANIFEST_FILE,
  SIGNATURE_FILE,
  UntrustedCheckpointError,
  decodeManifest,
  encodeManifest,
  fileChecksum,
  openCheckpoint,
  readKeyFile,
  writeKeyFile,
  type CheckpointKey,
} from '@nbferry/store';
import { testPython } from './support/python.js';

/** Patches 4 bytes of `data` at `at` so that its CRC-32 becomes `target` (CRC is linear: forgeable). */
function forgeCrc32(data: Buffer, at: number, target: number): void {
  const table = new Uint32Array(256);
  const byTopByte = new Uint8Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
    byTopByte[table[n]! >>> 24] = n;
  }
  // Register after the patch, found backwards from the final value over the known suffix.
  let after = ~target >>> 0;
  for (let i = data.length - 1; i >= at + 4; i--) {
    const index = byTopByte[after >>> 24]!;
    after = ((((after ^ table[index]!) << 8) | (index ^ data[i]!)) >>> 0);
  }
  // The four table indices that lead into `after` (their high bytes are determined)...
  const indices: number[] = [];
  for (let k = 0; k < 4; k++) {
    const index = byTopByte[after >>> 24]!;
    indices.unshift(index);
    after = ((after ^ table[index]!) << 8) >>> 0;
  }
  // ...and the bytes that produce them from the register before the patch.
  let before = 0xffffffff;
  for (let i = 0; i < at; i++) before = (table[(before ^ data[i]!) & 0xff]! ^ (before >>> 8)) >>> 0;
  for (let k = 0; k < 4; k++) {
    data[at + k] = (before ^ indices[k]!) & 0xff;
    before = (table[indices[k]!]! ^ (before >>> 8)) >>> 0;
  }
}

describe('signed checkpoints', () => {
  let dir: string;
  let key: CheckpointKey;
  let publicKey: CheckpointKey;
  let otherKey: CheckpointKey;
  const kernels: Kernel[] = [];

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'nbf-signed-'));
    const written = await writeKeyFile(join(dir, 'key'));
    key = await readKeyFile(written.path);
    publicKey = await readKeyFile(written.publicKeyPath);
    otherKey = await readKeyFile((await writeKeyFile(join(dir, 'other'))).path);
  });
  afterEach(async () => {
    for (const kernel of kernels.splice(0)) await kernel.dispose();
    await rm(dir, { recursive: true, force: true });
  });

  async function kernel(): Promise<Kernel> {
    const k = await launchKernel({ python: testPython(), cwd: dir });
    kernels.push(k);
    return k;
  }

  /** A recorded kernel whose `setup` ran before recording: its variables must be serialized. */
  async function source(setup: string, ...cells: string[]): Promise<Recorder> {
    const k = await kernel();
    const pre = await k.client.execute(setup, { silent: true });
    if (pre.status !== 'ok') throw new Error(`setup failed: ${pre.error?.evalue}`);
    const recorder = await Recorder.attach(k.client);
    for (const cell of cells) expect((await k.client.execute(cell)).status).toBe('ok');
    return recorder;
  }

  async function has(target: Kernel, name: string): Promise<boolean> {
    const r = await target.client.execute('', { silent: true, userExpressions: { v: `${JSON.stringify(name)} in globals()` } });
    return r.userExpressions.v?.status === 'ok' && r.userExpressions.v.data['text/plain'] === 'True';
  }

  it('round-trips a signed checkpoint, verified with the public key alone; another key is refused', async () => {
    // `big` spans three 8 MiB chunks: the kernel's sha256-chunks and ours must agree across chunks.
    const recorder = await source('import numpy as np\nbase = np.arange(1000.0)\nbig = np.arange(2_500_000.0)', 'total = float(base.sum())', 'names = ["a", "b"]');
    const store = join(dir, 'store');
    const saved = await checkpoint(recorder, new LocalStore(store), { key });
    expect(existsSync(join(saved.checkpoint.dir, SIGNATURE_FILE))).toBe(true);
    expect(saved.checkpoint.manifest.blobs.every((b) => b.checksum.startsWith('sha256-chunks:'))).toBe(true);
    expect(saved.checkpoint.manifest.blobs.some((b) => b.bytes > 16 * 1024 * 1024)).toBe(true);
    for (const blob of saved.checkpoint.manifest.blobs) expect(await saved.checkpoint.verifyBlob(blob)).toBe(true);

    const target = await kernel();
    const report = await restore(store, target.client, { key: publicKey });
    expect(report.verification.totals.lost).toBe(0);
    expect(report.verification.ok).toBe(true);
    expect((await openCheckpoint(store, { key: publicKey })).signatureStatus).toEqual({ state: 'verified', keyId: key.keyId });

    const other = await kernel();
    const refused = await restore(store, other.client, { key: otherKey }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(UntrustedCheckpointError);
    expect((refused as UntrustedCheckpointError).reason).toBe('other-key');
    expect(await has(other, 'base')).toBe(false);
  });

  it('never unpickles a crafted __reduce__ blob of an unsigned checkpoint when a key is configured', async () => {
    const marker = join(dir, 'pwned');
    const recorder = await source(`class Evil:\n    def __reduce__(self):\n        return (open, (${JSON.stringify(marker)}, "w"))\nevil = Evil()`);
    const store = join(dir, 'store');
    const saved = await checkpoint(recorder, new LocalStore(store));
    expect(saved.plan.serialize.length).toBeGreaterThan(0);
    expect(existsSync(marker)).toBe(false);

    const target = await kernel();
    const refused = await restore(store, target.client, { key: publicKey }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(UntrustedCheckpointError);
    expect((refused as UntrustedCheckpointError).reason).toBe('unsigned');
    // An opened checkpoint handed to restore is checked too.
    const opened = await openCheckpoint<CheckpointBody>(store);
    await expect(restore(opened, target.client, { key: publicKey })).rejects.toBeInstanceOf(UntrustedCheckpointError);
    expect(existsSync(marker)).toBe(false);
    expect(await has(target, 'evil')).toBe(false);

    // The caller trusts it explicitly: then it is loaded, and the pickle does run (what the key prevents).
    await restore(store, target.client, { key: publicKey, trustUnsigned: true });
    expect(existsSync(marker)).toBe(true);
  });

  it('refuses a signed checkpoint whose history cell code was edited, before running anything', async () => {
    const marker = join(dir, 'ran-edited-code');
    const recorder = await source('pass', 'x = 1', 'y = x + 1');
    const store = join(dir, 'store');
    const saved = await checkpoint(recorder, new LocalStore(store), { key });
    const path = join(saved.checkpoint.dir, MANIFEST_FILE);
    const manifest = decodeManifest<CheckpointBody>(await readFile(path), path);
    for (const record of manifest.body.history.executions) record.code = `open(${JSON.stringify(marker)}, "w").close()\n${record.code}`;
    await writeFile(path, encodeManifest(manifest)); // a valid manifest digest, but not what was signed

    const target = await kernel();
    const refused = await restore(store, target.client, { key: publicKey, trustUnsigned: true }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(UntrustedCheckpointError);
    expect((refused as UntrustedCheckpointError).reason).toBe('bad-signature');
    expect(existsSync(marker)).toBe(false);
    expect(await has(target, 'y')).toBe(false);

    // Without a key the edit goes unnoticed and the edited code runs: what the signature prevents.
    const unguarded = await kernel();
    await restore(store, unguarded.client);
    expect(existsSync(marker)).toBe(true);
  });

  it('refuses a forged blob that keeps its CRC: by sha256-chunks when signed, as unsigned when the manifest says crc32-8m', async () => {
    const recorder = await source('import numpy as np\nsecret = np.arange(1000.0)');
    const store = join(dir, 'store');
    const saved = await checkpoint(recorder, new LocalStore(store), { key });
    const blob = saved.checkpoint.manifest.blobs.find((b) => b.variables.includes('secret'))!;
    const path = saved.checkpoint.blobPath(blob);
    const original = await readFile(path);
    const crcBefore = await fileChecksum(path, 'crc32-8m');

    // Change element 500 (500.0 -> 9999.0), then fix 4 bytes of element 900 so the CRC is unchanged.
    const forged = Buffer.from(original);
    const at = forged.indexOf(Buffer.from(new Float64Array([500]).buffer));
    expect(at).toBeGreaterThan(0);
    forged.set(new Uint8Array(new Float64Array([9999]).buffer), at);
    forgeCrc32(forged, at + 400 * 8, crc32(original));
    await writeFile(path, forged);
    expect(await fileChecksum(path, 'crc32-8m')).toBe(crcBefore); // the forgery fools a CRC
    expect(await saved.checkpoint.verifyBlob(blob)).toBe(false); // not SHA-256

    const target = await kernel();
    const report = await restore(store, target.client, { key: publicKey });
    expect(report.fallbacks.join('\n')).toMatch(/sha256-chunks mismatch/);
    expect(report.verification.variables.find((v) => v.name === 'secret')?.outcome).not.toBe('restored');
    if (await has(target, 'secret')) {
      const r = await target.client.execute('', { silent: true, userExpressions: { v: 'float(secret[500])' } });
      expect(r.userExpressions.v?.status === 'ok' && r.userExpressions.v.data['text/plain']).not.toBe('9999.0');
    }

    // The same forgery under a legacy crc32-8m manifest: unsigned, so refused with a key.
    const manifestPath = join(saved.checkpoint.dir, MANIFEST_FILE);
    const manifest = decodeManifest<CheckpointBody>(await readFile(manifestPath), manifestPath);
    // (A legacy manifest lists blob files, not format 2 chunks.)
    manifest.blobs = manifest.blobs.map(({ chunks, ...b }) => (b.file === blob.file ? { ...b, checksum: crcBefore } : { ...b, chunks }));
    await writeFile(manifestPath, encodeManifest(manifest));
    await rm(join(saved.checkpoint.dir, SIGNATURE_FILE));
    const fresh = await kernel();
    await expect(restore(store, fresh.client, { key: publicKey })).rejects.toBeInstanceOf(UntrustedCheckpointError);
    expect(await has(fresh, 'secret')).toBe(false);
  });
});
