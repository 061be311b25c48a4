// Checkpoints in an object store (S3 API) on real kernels and a real SeaweedFS: the kernel's bytes
// reach the bucket only through the coordinator, chunk by chunk; restore reads them back the same way.
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile, chmod } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { attachKernel } from '@nbferry/kernel';
import { checkpoint, restore, type CheckpointBody } from '@nbferry/migrate';
import { Recorder } from '@nbferry/recorder';
import { encodeSignature, openStore, readKeyFile, signManifest, writeKeyFile, type CheckpointStore } from '@nbferry/store';
import { S3Store } from '@nbferry/store-s3';
import { nbferry } from './support/cli.js';
import { notebook } from './support/notebook.js';
import { testPython } from './support/python.js';
import { runCell, useKernelSandbox, valueOf } from './support/kernel-sandbox.js';
import { startSeaweed, type Seaweed } from './support/seaweed.js';

const MiB = 1024 * 1024;
let weed: Seaweed;
let bucketCount = 0;

beforeAll(async () => {
  weed = await startSeaweed();
}, 120_000);
afterAll(async () => {
  await weed?.stop();
});

const BUCKET = 'nbferry-tests';

/**
 * A fresh store (its own prefix in one bucket: SeaweedFS gives each bucket its own volumes), reached
 * with the harness's signed credentials.
 */
async function freshStore(): Promise<S3Store> {
  if (bucketCount === 0) await weed.createBucket(BUCKET);
  return S3Store.fromUrl(`s3://${BUCKET}/t${bucketCount++}/ck`, { client: weed.client() });
}

async function keysUnder(store: S3Store, path: string): Promise<{ key: string; size: number }[]> {
  const out: { key: string; size: number }[] = [];
  for await (const o of store.listObjects(store.key(path))) out.push({ key: o.key, size: o.size });
  return out;
}

describe('S3 store on real kernels', () => {
  const sandbox = useKernelSandbox('nbf-s3-');

  it('checkpoints and restores through s3://, verified, and a second checkpoint of the same data uploads its chunks once', async () => {
    const store = await freshStore();
    const source = await sandbox.kernel();
    const recorder = await Recorder.attach(source.client);
    // Unseeded: a rerun would draw other numbers, so `big` is saved.
    await runCell(source.client, 'import numpy as np\nbig = np.random.default_rng().random(3_000_000)\nlabel = "s3"');
    const sourceSum = await valueOf(source.client, 'float(big.sum())');
    const first = await checkpoint(recorder, store);
    expect(first.checkpoint.dir).toBe(`${store.root}/checkpoints/${first.checkpoint.manifest.id}`);
    const bigBlob = first.checkpoint.manifest.blobs.find((b) => b.variables.includes('big'))!;
    expect(bigBlob.bytes).toBeGreaterThan(24e6);
    expect(bigBlob.chunks!.length).toBe(Math.ceil(bigBlob.bytes / (8 * MiB)));
    const chunksAfterFirst = await keysUnder(store, 'chunks/');
    // A small change: only the changed group is uploaded; `big`'s chunks are reused.
    await runCell(source.client, 'label = "changed"');
    const second = await checkpoint(recorder, store);
    expect(second.checkpoint.manifest.parent).toBe(first.checkpoint.manifest.id);
    expect(second.checkpoint.manifest.stats!.newBytes).toBeLessThan(0.02 * second.checkpoint.manifest.stats!.totalBytes);
    // The same data checkpointed again without reuse (incremental off): every chunk is found, none uploaded twice.
    const third = await checkpoint(recorder, store, { incremental: false });
    expect(third.checkpoint.manifest.stats!.newBytes).toBeLessThan(1 * MiB);
    const chunksAfterAll = await keysUnder(store, 'chunks/');
    expect(chunksAfterAll.filter((c) => c.size > MiB).length).toBe(chunksAfterFirst.filter((c) => c.size > MiB).length);
    expect(await store.list()).toEqual([first, second, third].map((r) => r.checkpoint.manifest.id).sort());
    expect(await store.latestId()).toBe(third.checkpoint.manifest.id);

    // Restore from the store by URL (as a reader that only has the URL would).
    const reader = await S3Store.fromUrl(store.root, { client: weed.client() });
    const opened = await reader.open<CheckpointBody>();
    const target = await sandbox.kernel();
    const report = await restore(opened, target.client);
    expect(report.verification.ok, JSON.stringify(report.verification.variables)).toBe(true);
    expect(report.verification.variables.find((v) => v.name === 'big')?.outcome).toBe('restored');
    expect(await valueOf(target.client, 'float(big.sum())')).toBe(sourceSum);
    expect(await valueOf(target.client, 'label')).toBe("'changed'");
  }, 240_000);

  it('a tampered chunk is refused on restore and a tampered manifest on open', async () => {
    const store = await freshStore();
    const source = await sandbox.kernel();
    // Defined outside recorded cells: nothing could recompute it, so only its blob can bring it back.
    await source.client.execute('import numpy as np\nsecret = np.arange(2_000_000)', { silent: true });
    const saved = await checkpoint(await Recorder.attach(source.client), store, { refuseLoss: false });
    const blob = saved.checkpoint.manifest.blobs.find((b) => b.variables.includes('secret'))!;
    const client = weed.client();
    const chunkKey = store.remote.keyOf(blob.chunks![0]!);
    const original = Buffer.from(await (await client.send(new GetObjectCommand({ Bucket: store.bucket, Key: chunkKey }))).Body!.transformToByteArray());
    const tampered = Buffer.from(original);
    tampered[tampered.length - 100] ^= 0xff;
    await client.send(new PutObjectCommand({ Bucket: store.bucket, Key: chunkKey, Body: tampered }));
    const opened = await store.open<CheckpointBody>();
    expect(await opened.blobProblem(blob)).toMatch(/does not match its name/);
    const target = await sandbox.kernel();
    const report = await restore(opened, target.client);
    expect(report.verification.ok).toBe(false);
    expect(report.verification.variables.find((v) => v.name === 'secret')?.outcome).not.toBe('restored');
    expect(await valueOf(target.client, "'secret' in globals()")).toBe('False');

    const manifestKey = store.key(`checkpoints/${saved.checkpoint.manifest.id}/manifest.nbf`);
    const manifest = Buffer.from(await (await client.send(new GetObjectCommand({ Bucket: store.bucket, Key: manifestKey }))).Body!.transformToByteArray());
    manifest[manifest.length - 40] ^= 0x01;
    await client.send(new PutObjectCommand({ Bucket: store.bucket, Key: manifestKey, Body: manifest }));
    await expect(store.open()).rejects.toMatchObject({ code: 'CHECKPOINT_CORRUPT' });
    client.destroy();
  }, 180_000);

  it('a signed checkpoint is verified from the bucket; a signature or key that does not match is refused', async () => {
    const store = await freshStore();
    const keys = sandbox.dir();
    const mine = await writeKeyFile(join(keys, 'mine.key'));
    const other = await writeKeyFile(join(keys, 'other.key'));
    const source = await sandbox.kernel();
    await runCell(source.client, 'values = list(range(100))');
    const saved = await checkpoint(await Recorder.attach(source.client), store, { key: await readKeyFile(mine.path) });
    const id = saved.checkpoint.manifest.id;
    expect((await store.open(id, { key: await readKeyFile(mine.publicKeyPath) })).signatureStatus).toEqual({ state: 'verified', keyId: mine.keyId });
    await expect(store.open(id, { key: await readKeyFile(other.publicKeyPath) })).rejects.toMatchObject({ code: 'CHECKPOINT_UNTRUSTED', reason: 'other-key' });
    // The signature object replaced by one over other bytes: tampering, refused even when unsigned ones are trusted.
    const forged = encodeSignature(signManifest(Buffer.from('not this manifest'), await readKeyFile(mine.path)));
    const client = weed.client();
    await client.send(new PutObjectCommand({ Bucket: store.bucket, Key: store.key(`checkpoints/${id}/manifest.sig`), Body: forged }));
    client.destroy();
    await expect(store.open(id, { key: await readKeyFile(mine.publicKeyPath), trustUnsigned: true })).rejects.toMatchObject({ reason: 'bad-signature' });
  }, 120_000);

  it('wrong credentials and a missing bucket are typed errors; the source kernel is untouched', async () => {
    const store = await freshStore();
    const source = await sandbox.kernel();
    const recorder = await Recorder.attach(source.client);
    await runCell(source.client, 'x = list(range(1000))');
    const wrong = await S3Store.fromUrl(store.root, {
      client: new S3Client({ endpoint: weed.endpoint, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: weed.accessKeyId, secretAccessKey: 'not-the-secret' } }),
    });
    const denied = (await checkpoint(recorder, wrong).catch((e: unknown) => e)) as Error & { code: string };
    expect(denied).toMatchObject({ name: 'StoreAccessDeniedError', code: 'STORE_ACCESS_DENIED' });
    expect(denied.message).toMatch(/AWS_ACCESS_KEY_ID/);
    const missing = await S3Store.fromUrl(`s3://no-such-bucket-${process.pid}/x`, { client: weed.client() });
    await expect(checkpoint(recorder, missing)).rejects.toMatchObject({ name: 'StoreBucketMissingError', code: 'STORE_BUCKET_MISSING' });
    await expect(missing.open()).rejects.toMatchObject({ code: 'STORE_BUCKET_MISSING' });
    expect(await valueOf(source.client, 'len(x)')).toBe('1000');
    // Nothing was written by the refused attempts; the store still works with the right credentials.
    expect(await store.list()).toEqual([]);
    const ok = await checkpoint(recorder, store);
    expect(await store.latestId()).toBe(ok.checkpoint.manifest.id);
  }, 120_000);

  it('two writers committing at once: both are in the history and LATEST names the newer', async () => {
    const store = await freshStore();
    const kernels = await Promise.all([sandbox.kernel(), sandbox.kernel()]);
    const recorders = await Promise.all(kernels.map((k) => Recorder.attach(k.client)));
    await Promise.all(kernels.map((k, i) => runCell(k.client, `import numpy as np\nv = np.full(1_500_000, ${i}.0)`)));
    for (let round = 0; round < 2; round++) {
      const results = await Promise.all(recorders.map((r) => checkpoint(r, store)));
      const ids = results.map((r) => r.checkpoint.manifest.id);
      expect(await store.latestId()).toBe([...ids].sort().at(-1));
    }
    const ids = await store.list();
    expect(ids).toHaveLength(4);
    for (const id of ids) {
      const opened = await store.open(id);
      for (const blob of opened.manifest.blobs) expect(await opened.blobProblem(blob)).toBeUndefined();
    }
  }, 180_000);

  it('gc during a checkpoint never deletes a chunk the writer commits; afterwards it frees what nothing references', async () => {
    const store = await freshStore();
    const source = await sandbox.kernel();
    const recorder = await Recorder.attach(source.client);
    // Unseeded draws: a rerun would differ, so both checkpoints write them.
    await runCell(source.client, 'import numpy as np\nold = np.random.default_rng().random(2_000_000)');
    const first = await checkpoint(recorder, store);
    // (`old = None`, not `del old`: the planner may rerun this cell, and a rerun `del` needs `old` to exist.)
    await runCell(source.client, 'old = None\nnew = np.random.default_rng().random(4_000_000)');
    const writing = checkpoint(recorder, store);
    // Let the writer take its lease and start uploading, then collect with a short writer wait.
    await new Promise((r) => setTimeout(r, 300));
    const during = await store.collectGarbage({ keep: 1, waitForWritersMs: 200 });
    const second = await writing;
    if (during.swept) expect(during.deletedCheckpoints).not.toContain(second.checkpoint.manifest.id);
    for (const blob of second.checkpoint.manifest.blobs) expect(await (await store.open(second.checkpoint.manifest.id)).blobProblem(blob)).toBeUndefined();
    const after = await store.collectGarbage({ keep: 1 });
    expect(after.swept).toBe(true);
    expect([...during.deletedCheckpoints, ...after.deletedCheckpoints]).toContain(first.checkpoint.manifest.id);
    expect(after.freedBytes + (during.swept ? during.freedBytes : 0)).toBeGreaterThan(15e6); // `old`'s chunks
    expect(await store.list()).toEqual([second.checkpoint.manifest.id]);
    const target = await sandbox.kernel();
    const report = await restore(await store.open<CheckpointBody>(), target.client);
    expect(report.verification.ok, JSON.stringify({ variables: report.verification.variables, fallbacks: report.fallbacks })).toBe(true);
  }, 180_000);

  it('the store killed mid-checkpoint: a typed error, the source untouched, the previous checkpoint intact', async () => {
    const store = await freshStore();
    const source = await sandbox.kernel();
    const recorder = await Recorder.attach(source.client);
    await runCell(source.client, 'import numpy as np\na = np.ones(1000)');
    const previous = await checkpoint(recorder, store);
    await runCell(source.client, 'b = np.random.default_rng().random(40_000_000)'); // 320 MB: 40 chunks (unseeded: saved, not recomputed)
    let killed: Promise<void> | undefined;
    const failure = (await checkpoint(recorder, store, {
      onProgress: (event) => {
        if (event.phase === 'bytes' && event.done > 0) killed ??= weed.kill();
      },
    }).catch((e: unknown) => e)) as Error & { code: string };
    await killed;
    expect(killed).toBeDefined();
    expect(failure).toMatchObject({ code: 'STORE_UNAVAILABLE' });
    expect(failure.message).toMatch(/previous one is intact/);
    try {
      expect(await valueOf(source.client, 'bool(float(b[:3].sum()) > 0 and a.sum() == 1000)')).toBe('True');
    } finally {
      await weed.restart();
    }
    expect(await store.latestId()).toBe(previous.checkpoint.manifest.id);
    expect(await store.list()).toEqual([previous.checkpoint.manifest.id]);
    const opened = await store.open<CheckpointBody>();
    for (const blob of opened.manifest.blobs) expect(await opened.blobProblem(blob)).toBeUndefined();
    // And the source checkpoints again once the store is back.
    const again = await checkpoint(recorder, store);
    expect(await store.latestId()).toBe(again.checkpoint.manifest.id);
  }, 240_000);
});

describe('URL resolution', () => {
  it('openStore: s3:// loads the S3 store, other schemes and a missing package are typed errors', async () => {
    const s3 = (await openStore('s3://some-bucket/a/b', {})) as CheckpointStore;
    expect(s3.root).toBe('s3://some-bucket/a/b');
    expect(s3.remote).toBeDefined();
    s3.close?.();
    await expect(openStore('gs://bucket/x')).rejects.toMatchObject({ code: 'STORE_URL_UNSUPPORTED' });
    await expect(openStore('s3://bucket/x', { importBackend: () => Promise.reject(Object.assign(new Error('missing'), { code: 'ERR_MODULE_NOT_FOUND' })) })).rejects.toMatchObject({
      code: 'STORE_BACKEND_MISSING',
      message: expect.stringMatching(/npm install @nbferry\/store-s3/),
    });
    await expect(openStore('s3://B/x')).rejects.toMatchObject({ code: 'STORE_URL_INVALID' });
  });
});

describe('CLI through s3:// (two machines: no shared disk)', () => {
  it('checkpoint on one "machine", restore on another whose only channel is the object store', async () => {
    const url = `${(await freshStore()).root}/team/analysis`;
    const machine = async (name: string) => {
      const root = await mkdtemp(join(tmpdir(), `nbf-machine-${name}-`));
      for (const sub of ['home', 'tmp', 'work']) await import('node:fs/promises').then((fs) => fs.mkdir(join(root, sub)));
      const env = { ...weed.env, HOME: join(root, 'home'), TMPDIR: join(root, 'tmp'), AWS_CONFIG_FILE: join(root, 'home', 'none'), AWS_SHARED_CREDENTIALS_FILE: join(root, 'home', 'none') };
      return { root, env, cwd: join(root, 'work') };
    };
    const a = await machine('a');
    const b = await machine('b');
    try {
      const marker = join(a.cwd, 'marker.txt');
      await writeFile(marker, 'only on machine A');
      const nb = join(a.cwd, 'nb.ipynb');
      await writeFile(nb, notebook(['import numpy as np\nimport os', 'arr = np.random.default_rng(9).random(2_000_000)\nrows = [str(i) for i in range(3)]\nn = len(rows)']));
      const ran = await nbferry(['run', nb, '--python', testPython(), '--checkpoint', url, '--json'], { cwd: a.cwd, env: a.env, timeoutMs: 180_000 });
      expect(ran.code, ran.stderr).toBe(0);
      expect(existsSync(join(a.cwd, 's3:'))).toBe(false); // the old bug: a local directory named after the scheme
      // Machine A is gone: its files (the notebook's data included) cannot be read by B.
      await chmod(a.root, 0o000);
      await rm(a.root, { recursive: true, force: true }).catch(() => {});
      const logged = await nbferry(['log', url, '--json'], { cwd: b.cwd, env: b.env });
      expect(logged.code, logged.stderr).toBe(0);
      expect((JSON.parse(logged.stdout) as { checkpoints: unknown[] }).checkpoints).toHaveLength(1);
      const restored = await nbferry(['restore', url, '--python', testPython(), '--json'], { cwd: b.cwd, env: b.env, timeoutMs: 180_000 });
      expect(restored.code, `${restored.stderr}\n${restored.stdout}`).toBe(0);
      const report = JSON.parse(restored.stdout) as { ok: boolean; connectionFile: string; variables: { name: string; outcome: string }[] };
      expect(report.ok).toBe(true);
      const kernel = await attachKernel(report.connectionFile);
      try {
        expect(await valueOf(kernel.client, 'n')).toBe('3');
        expect(await valueOf(kernel.client, `os.path.exists(${JSON.stringify(marker)})`)).toBe('False');
        expect(await valueOf(kernel.client, 'float(arr.sum()) == float(np.random.default_rng(9).random(2_000_000).sum())')).toBe('True');
      } finally {
        await kernel.client.shutdown();
        await kernel.detach();
      }
      // Retention through the URL too: the only checkpoint is the latest, so it stays.
      const collected = await nbferry(['gc', url, '--keep', '1', '--json'], { cwd: b.cwd, env: b.env });
      expect(collected.code, collected.stderr).toBe(0);
      expect(JSON.parse(collected.stdout)).toMatchObject({ swept: true, deletedCheckpoints: [], deletedChunks: 0 });
      // Wrong credentials on B: a typed error (status 4) naming what to check.
      const denied = await nbferry(['log', url, '--json'], { cwd: b.cwd, env: { ...b.env, AWS_SECRET_ACCESS_KEY: 'wrong' } });
      expect(denied.code).toBe(4);
      expect(JSON.parse(denied.stdout)).toMatchObject({ code: 'STORE_ACCESS_DENIED' });
    } finally {
      await chmod(a.root, 0o700).catch(() => {});
      await rm(a.root, { recursive: true, force: true });
      await rm(b.root, { recursive: true, force: true });
    }
  }, 300_000);

  it('an unknown scheme is refused and creates no local directory', async () => {
    const cwd = await mkdtemp(join(tmpdir(), 'nbf-scheme-'));
    try {
      const result = await nbferry(['log', 'gs://bucket/x', '--json'], { cwd });
      expect(result.code).toBe(4);
      expect(JSON.parse(result.stdout)).toMatchObject({ code: 'STORE_URL_UNSUPPORTED' });
      const listed = await import('node:fs/promises').then((fs) => fs.readdir(cwd));
      expect(listed).toEqual([]);
    } finally {
      await rm(cwd, { recursive: true, force: true });
    }
  });
});

