/**
 * Content-addressed chunks in a bucket: `<prefix>/chunks/<first 2 hex>/<sha256 hex>`, the same
 * names as a local store's chunk files. A chunk is uploaded only if a HEAD does not find it (never
 * twice), with its SHA-256 in the `x-amz-checksum-sha256` header so the server refuses bytes that
 * changed on the way; every chunk read is checked against its name. Memory: at most `concurrency`
 * chunks (each ≤ `partBytes`, 8 MiB as the kernel cuts them) are held at once by a caller that
 * keeps that many calls in flight; a larger chunk is streamed as a multipart upload of
 * `partBytes` parts.
 */
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { GetObjectCommand, HeadObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { chunkPath, type RemoteChunks } from '@nbferry/store';
import { ChunkMismatchError, isNotFound, storeFailure } from './errors.js';

export const DEFAULT_CONCURRENCY = 4;
export const DEFAULT_PART_BYTES = 8 * 1024 * 1024;

export class S3Chunks implements RemoteChunks {
  /** When each chunk was last seen stored (HEAD) or uploaded by this process: a commit need not look again. */
  private readonly confirmed = new Map<string, number>();

  constructor(
    private readonly client: S3Client,
    private readonly bucket: string,
    /** Key of the chunks "directory" (`<prefix>/chunks`). */
    private readonly chunksKey: string,
    private readonly location: string,
    readonly concurrency = DEFAULT_CONCURRENCY,
    private readonly partBytes = DEFAULT_PART_BYTES,
  ) {}

  keyOf(digest: string): string {
    return chunkPath(this.chunksKey, digest); // validates the name: 64 hex digits, nothing else
  }

  async has(digest: string, bytes: number, signal?: AbortSignal): Promise<boolean> {
    try {
      const head = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: this.keyOf(digest) }), { abortSignal: signal });
      if (head.ContentLength === bytes) this.confirmed.set(digest, Date.now());
      return head.ContentLength === bytes;
    } catch (error) {
      if (isNotFound(error)) return false;
      throw storeFailure(error, this.location, this.bucket);
    }
  }

  /** Uploads the chunk unless stored; true if it was uploaded now. */
  async put(digest: string, pieces: readonly Uint8Array[], signal?: AbortSignal, options: { knownAbsent?: boolean } = {}): Promise<boolean> {
    const hash = createHash('sha256');
    let bytes = 0;
    for (const piece of pieces) {
      hash.update(piece);
      bytes += piece.byteLength;
    }
    const sha = hash.digest();
    if (sha.toString('hex') !== digest) throw new ChunkMismatchError(this.location, digest, 'changed before it was uploaded (its SHA-256 is not its name)');
    if (!options.knownAbsent && (await this.has(digest, bytes, signal))) return false;
    try {
      if (bytes <= this.partBytes) {
        const body = pieces.length === 1 ? pieces[0]! : Buffer.concat(pieces);
        await this.client.send(
          new PutObjectCommand({ Bucket: this.bucket, Key: this.keyOf(digest), Body: body, ContentLength: bytes, ChecksumSHA256: sha.toString('base64') }),
          { abortSignal: signal },
        );
      } else {
        const upload = new Upload({
          client: this.client,
          params: { Bucket: this.bucket, Key: this.keyOf(digest), Body: Readable.from(pieces), ChecksumAlgorithm: 'SHA256' },
          partSize: this.partBytes,
          queueSize: this.concurrency,
          leavePartsOnError: false, // an interrupted upload is aborted, never completed half
        });
        signal?.addEventListener('abort', () => void upload.abort().catch(() => {}), { once: true });
        await upload.done();
      }
    } catch (error) {
      throw storeFailure(error, this.location, this.bucket);
    }
    this.confirmed.set(digest, Date.now());
    return true;
  }

  /** Was the chunk seen stored or uploaded by this process at or after `since` (ms)? */
  confirmedSince(digest: string, since: number): boolean {
    return (this.confirmed.get(digest) ?? -Infinity) >= since;
  }

  async get(digest: string, bytes: number, signal?: AbortSignal): Promise<Uint8Array> {
    let body: Uint8Array;
    try {
      // No ChecksumMode: the SDK would hash the chunk a second time; its SHA-256 is checked against its name below.
      const reply = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: this.keyOf(digest) }), { abortSignal: signal });
      if (reply.ContentLength !== undefined && reply.ContentLength !== bytes) {
        (reply.Body as { destroy?: () => void } | undefined)?.destroy?.();
        throw new ChunkMismatchError(this.location, digest, `is ${reply.ContentLength} bytes, the manifest says ${bytes}`);
      }
      body = await reply.Body!.transformToByteArray();
    } catch (error) {
      if (isNotFound(error)) throw new ChunkMismatchError(this.location, digest, 'is missing');
      throw storeFailure(error, this.location, this.bucket);
    }
    if (body.byteLength !== bytes) throw new ChunkMismatchError(this.location, digest, `is ${body.byteLength} bytes, the manifest says ${bytes}`);
    if (createHash('sha256').update(body).digest('hex') !== digest) throw new ChunkMismatchError(this.location, digest, 'does not match its name (sha256 mismatch)');
    return body;
  }
}
