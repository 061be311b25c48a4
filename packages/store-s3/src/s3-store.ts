/**
 * A store in an object store (S3 API), format 2 as a local store, under `s3://bucket/prefix`:
 *
 *   <prefix>/LATEST                           id of the newest committed checkpoint
 *   <prefix>/checkpoints/<id>/manifest.nbf    the manifest: its presence IS the checkpoint
 *   <prefix>/checkpoints/<id>/manifest.sig    its signature, written before the manifest
 *   <prefix>/chunks/<aa>/<sha256>             content-addressed chunks (s3-chunks.ts)
 *   <prefix>/.staging/<id>.lease              a writer in flight (leases.ts)
 *   <prefix>/.gc.lease                        a gc in flight
 *
 * Commit order: every chunk the manifest names is checked present with its size (uploads completed
 * before: S3 acknowledges a PUT once durable), then the signature, then the manifest with
 * `If-None-Match: *` (never replaces one), then LATEST with `If-Match` on the ETag read (or
 * `If-None-Match: *` when absent) so it only moves forward: two writers committing at once both
 * appear in the history (distinct keys), and LATEST names the newer id, whatever order their writes
 * land in. Readers list manifests, so a checkpoint without its manifest (a writer that died) is
 * invisible and its chunks are garbage for gc.
 */
import { randomBytes } from 'node:crypto';
import { DeleteObjectCommand, GetObjectCommand, HeadBucketCommand, ListObjectsV2Command, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import {
  CheckpointNotFoundError,
  CheckpointWriteError,
  CorruptCheckpointError,
  FORMAT_VERSION,
  MANIFEST_FILE,
  SIGNATURE_FILE,
  StoreError,
  StoredCheckpoint,
  assertSafeName,
  chunkSpans,
  decodeManifest,
  decodeSignature,
  encodeManifest,
  encodeSignature,
  isSafeName,
  signManifest,
  type CheckpointKey,
  type CheckpointStore,
  type GcOptions,
  type GcResult,
  type Manifest,
  type ManifestInput,
  type ManifestSignature,
  type SignatureStatus,
  type StoreDraft,
  type StoreOptions,
  type TrustOptions,
} from '@nbferry/store';
import { isNotFound, isPreconditionFailed, storeFailure, StoreBucketMissingError, writeFailure } from './errors.js';
import { WriterLease, waitWhileGcRuns } from './leases.js';
import { createClient, parseS3Url, type ClientOptions } from './location.js';
import { DEFAULT_CONCURRENCY, S3Chunks } from './s3-chunks.js';
import { s3Gc } from './s3-gc.js';

const MANIFEST_MAX_BYTES = 1024 * 1024 * 1024;
const SMALL_MAX_BYTES = 64 * 1024;

export interface S3StoreOptions extends StoreOptions, ClientOptions {
  /** Chunks moved at once (default 4): with 8 MiB chunks, the coordinator holds at most ~2 × this × 8 MiB of blob bytes. */
  concurrency?: number;
  /** A client to use instead of one built from the configuration chain (tests, custom credentials). */
  client?: S3Client;
}

export class S3Store implements CheckpointStore {
  readonly root: string;
  readonly remote: S3Chunks;

  constructor(
    readonly client: S3Client,
    readonly bucket: string,
    readonly prefix: string,
    readonly options: S3StoreOptions = {},
  ) {
    this.root = `s3://${bucket}${prefix ? `/${prefix}` : ''}`;
    this.remote = new S3Chunks(client, bucket, this.key('chunks'), this.root, options.concurrency ?? DEFAULT_CONCURRENCY);
  }

  static async fromUrl(url: string, options: S3StoreOptions = {}): Promise<S3Store> {
    const { bucket, prefix } = parseS3Url(url);
    const client = options.client ?? (await createClient(options));
    return new S3Store(client, bucket, prefix, options);
  }

  /** The object key of a store-relative path. */
  key(path: string): string {
    return this.prefix ? `${this.prefix}/${path}` : path;
  }

  async begin(options: { signal?: AbortSignal; gcWaitMs?: number } = {}): Promise<StoreDraft> {
    await this.assertBucket();
    const id = `${new Date().toISOString().replace(/[-:.]/g, '').replace('T', '-').slice(0, 18)}-${randomBytes(4).toString('hex')}`;
    const lease = await waitWhileGcRuns(this, id, options);
    return new S3Draft(this, id, lease);
  }

  async list(): Promise<string[]> {
    const ids: string[] = [];
    const base = this.key('checkpoints/');
    for await (const object of this.listObjects(base)) {
      const rest = object.key.slice(base.length);
      const [id, file, extra] = rest.split('/');
      if (extra === undefined && file === MANIFEST_FILE && isSafeName(id)) ids.push(id);
    }
    return ids.sort();
  }

  async latestId(): Promise<string | undefined> {
    const latest = await this.readLatest();
    return latest?.id;
  }

  async open<Body = unknown>(id?: string, trust: TrustOptions = this.options): Promise<StoredCheckpoint<Body>> {
    const chosen = id ?? (await this.latestId());
    if (!chosen) {
      await this.assertBucket();
      throw new CheckpointNotFoundError(this.root, 'the store has no committed checkpoint');
    }
    assertSafeName(chosen, 'checkpoint id', this.root);
    const dir = `${this.root}/checkpoints/${chosen}`;
    const bytes = await this.getSmall(this.key(`checkpoints/${chosen}/${MANIFEST_FILE}`), MANIFEST_MAX_BYTES);
    if (!bytes) {
      await this.assertBucket();
      throw new CheckpointNotFoundError(dir, 'it has no manifest');
    }
    const sigBytes = await this.getSmall(this.key(`checkpoints/${chosen}/${SIGNATURE_FILE}`), SMALL_MAX_BYTES);
    let signature: ManifestSignature | undefined;
    if (sigBytes) {
      signature = decodeSignature(sigBytes);
      if (!signature) throw new CorruptCheckpointError(dir, `${SIGNATURE_FILE} is not an nbferry signature`);
    }
    const manifest = decodeManifest<Body>(bytes, dir);
    const unchunked = manifest.blobs.find((b) => !b.chunks);
    if (unchunked) throw new CorruptCheckpointError(dir, `blob ${unchunked.file} has no chunk list (an object store holds format 2 checkpoints only)`);
    const status: SignatureStatus = new StoredCheckpoint(dir, manifest, bytes, signature).checkTrust(trust);
    return new StoredCheckpoint<Body>(dir, manifest, bytes, signature, status, this.remote);
  }

  collectGarbage(options: GcOptions = {}): Promise<GcResult> {
    return s3Gc(this, options);
  }

  close(): void {
    if (!this.options.client) this.client.destroy();
  }

  /** StoreBucketMissingError (or access denied) unless the bucket exists and answers. */
  async assertBucket(): Promise<void> {
    try {
      await this.client.send(new HeadBucketCommand({ Bucket: this.bucket }));
    } catch (error) {
      if ((error as { name?: string }).name === 'NotFound' || (error as { name?: string }).name === 'NoSuchBucket') {
        throw new StoreBucketMissingError(this.root, this.bucket, { cause: error });
      }
      throw storeFailure(error, this.root, this.bucket);
    }
  }

  /** @internal LATEST's id and ETag (undefined when there is none). */
  async readLatest(): Promise<{ id: string; etag: string } | undefined> {
    try {
      const reply = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: this.key('LATEST') }));
      const text = (await reply.Body!.transformToString()).trim();
      return { id: assertSafeName(text, 'checkpoint id', `${this.root}/LATEST`), etag: reply.ETag ?? '' };
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw storeFailure(error, this.root, this.bucket);
    }
  }

  /** @internal Points LATEST at `id` unless it already names a newer checkpoint; conditional, retried on a race. */
  async advanceLatest(id: string): Promise<void> {
    for (let attempt = 0; attempt < 20; attempt++) {
      const current = await this.readLatest();
      if (current && current.id >= id) return; // ids sort by creation time: never move LATEST back
      try {
        await this.client.send(
          new PutObjectCommand({
            Bucket: this.bucket,
            Key: this.key('LATEST'),
            Body: `${id}\n`,
            ...(current ? { IfMatch: current.etag } : { IfNoneMatch: '*' }),
          }),
        );
        return;
      } catch (error) {
        if (!isPreconditionFailed(error)) throw storeFailure(error, this.root, this.bucket);
        // Another writer moved it in between: read it again.
      }
    }
    throw new StoreError(`object store ${this.root}: LATEST kept changing under 20 attempts to update it; checkpoint ${id} is committed (nbferry log lists it)`, 'LATEST_CONTENDED');
  }

  /** @internal An object's bytes, or undefined if there is none; refused when larger than `max`. */
  async getSmall(key: string, max: number): Promise<Buffer | undefined> {
    try {
      const reply = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
      if ((reply.ContentLength ?? 0) > max) {
        (reply.Body as { destroy?: () => void } | undefined)?.destroy?.();
        throw new CorruptCheckpointError(`${this.root}/${key}`, `it is ${reply.ContentLength} bytes, more than ${max}`);
      }
      return Buffer.from(await reply.Body!.transformToByteArray());
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw storeFailure(error, this.root, this.bucket);
    }
  }

  /**
   * The names one level below this prefix (`s3://bucket/root/<name>/...`): the stores a service
   * keeps under one root. Listed with a delimiter, so the chunks below are not enumerated.
   */
  async childNames(): Promise<string[]> {
    const base = this.key('');
    const names: string[] = [];
    let token: string | undefined;
    do {
      let page;
      try {
        page = await this.client.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: base, Delimiter: '/', ContinuationToken: token }));
      } catch (error) {
        throw storeFailure(error, this.root, this.bucket);
      }
      for (const common of page.CommonPrefixes ?? []) {
        const name = common.Prefix?.slice(base.length).replace(/\/$/, '');
        if (name) names.push(name);
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return names.sort();
  }

  /** @internal Every object under `prefix` (full keys), page by page. */
  async *listObjects(prefix: string): AsyncIterable<{ key: string; size: number; modified: number }> {
    let token: string | undefined;
    do {
      let page;
      try {
        page = await this.client.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: prefix, ContinuationToken: token }));
      } catch (error) {
        throw storeFailure(error, this.root, this.bucket);
      }
      for (const object of page.Contents ?? []) {
        if (object.Key) yield { key: object.Key, size: object.Size ?? 0, modified: object.LastModified?.getTime() ?? 0 };
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  }

  /** @internal */
  async put(key: string, body: Uint8Array | string, condition: { IfNoneMatch?: string; IfMatch?: string } = {}): Promise<void> {
    try {
      await this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key: key, Body: body, ...condition }));
    } catch (error) {
      throw await writeFailure(error, this.client, this.root, this.bucket);
    }
  }

  /** @internal */
  async delete(key: string): Promise<void> {
    try {
      await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key }));
    } catch (error) {
      if (!isNotFound(error)) throw storeFailure(error, this.root, this.bucket);
    }
  }
}

export class S3Draft implements StoreDraft {
  private done = false;
  /** Chunks confirmed stored since then were confirmed under this draft's lease: gc cannot have swept them. */
  private readonly startedAt = Date.now();

  constructor(
    readonly store: S3Store,
    readonly id: string,
    private readonly lease: WriterLease,
  ) {}

  async commit<Body>(input: ManifestInput<Body>, options: { signWith?: CheckpointKey } = {}): Promise<StoredCheckpoint<Body>> {
    const { store } = this;
    const key = options.signWith ?? store.options.key;
    if (this.done) throw new StoreError(`checkpoint draft ${this.id} was already committed or aborted`, 'DRAFT_CLOSED');
    this.done = true;
    const manifest: Manifest<Body> = { format: 'nbferry-checkpoint', version: FORMAT_VERSION, id: this.id, createdAt: new Date().toISOString(), ...input };
    const dir = `${store.root}/checkpoints/${this.id}`;
    try {
      // Visible only once every chunk is durable: each is checked present with its size first.
      const spans = manifest.blobs.flatMap((blob) => {
        assertSafeName(blob.file, 'blob file', dir);
        if (!blob.chunks) throw new StoreError(`blob ${blob.file} has no chunk list: an object store holds content-addressed chunks only`, 'BLOB_NOT_CHUNKED');
        return chunkSpans(blob);
      });
      const unconfirmed = spans.filter(({ digest }) => !store.remote.confirmedSince(digest, this.startedAt));
      await inParallel(unconfirmed, store.remote.concurrency * 4, async ({ digest, bytes }) => {
        if (!(await store.remote.has(digest, bytes))) throw new StoreError(`chunk ${digest} is not in ${store.root} with ${bytes} bytes; the checkpoint was not committed`, 'CHUNK_MISSING');
      });
      const bytes = encodeManifest(manifest as Manifest);
      const signature = key ? signManifest(bytes, key) : undefined;
      if (signature) await store.put(store.key(`checkpoints/${this.id}/${SIGNATURE_FILE}`), encodeSignature(signature));
      try {
        await store.put(store.key(`checkpoints/${this.id}/${MANIFEST_FILE}`), bytes, { IfNoneMatch: '*' });
      } catch (error) {
        throw (error as StoreError).cause && isPreconditionFailed((error as StoreError).cause) ? new StoreError(`checkpoint ${this.id} already exists in ${store.root}; not replaced`, 'CHECKPOINT_EXISTS') : error;
      }
      await store.advanceLatest(this.id);
      await this.lease.release().catch(() => {});
      const status: SignatureStatus = key ? { state: 'verified', keyId: key.keyId } : { state: 'unsigned' };
      return new StoredCheckpoint<Body>(dir, manifest, bytes, signature, status, store.remote);
    } catch (error) {
      await this.lease.release().catch(() => {});
      if (error instanceof StoreError) throw error;
      throw new CheckpointWriteError(store.root, error);
    }
  }

  /** Chunks already uploaded stay until a gc finds nothing references them. */
  async abort(): Promise<void> {
    if (this.done) return;
    this.done = true;
    await this.lease.release();
  }
}

/** Runs `work` on every item, at most `limit` at once; the first failure rejects (the others finish). */
export async function inParallel<T>(items: readonly T[], limit: number, work: (item: T, index: number) => Promise<void>): Promise<void> {
  let next = 0;
  let failed: { error: unknown } | undefined;
  const worker = async () => {
    while (!failed && next < items.length) {
      const index = next++;
      try {
        await work(items[index]!, index);
      } catch (error) {
        failed ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (failed) throw failed.error;
}
