/**
 * Content-addressed chunks in a bucket: `<prefix>/chunks/<first 2 hex>/<sha256 hex>`, the same
 * names as a local store's chunk files. A chunk is uploaded only if a HEAD does not find it (never
 * twice), with its SHA-256 in the `x-amz-checksum-sha256` header so the server refuses bytes that
 * changed on the way; every chunk read is checked against its name. Memory: at most `concurrency`
 * chunks (each ≤ `partBytes`, 8 MiB as the kernel cuts them) are held at once by a caller that
 * keeps that many calls in flight; a larger chunk is streamed as a multipart upload of
 * `partBytes` parts.
 */
import { createHash, type Hash } from 'node:crypto';
import { Readable } from 'node:stream';
import { GetObjectCommand, HeadObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { chunkPath, type RemoteChunks } from '@nbferry/store';
import { ChunkMismatchError, isNotFound, storeFailure, writeFailure } from './errors.js';

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
        const command = new PutObjectCommand({ Bucket: this.bucket, Key: this.keyOf(digest), Body: body, ContentLength: bytes, ChecksumSHA256: sha.toString('base64') });
        // SigV4 signs the body's SHA-256 (over http) and would hash it again: it is the chunk's name, checked above.
        command.middlewareStack.add(
          (next) => (args) => {
            (args.request as { headers: Record<string, string> }).headers['x-amz-content-sha256'] = digest;
            return next(args);
          },
          { step: 'build', name: 'nbferryKnownPayloadHash' },
        );
        await this.client.send(command, { abortSignal: signal });
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
      throw await writeFailure(error, this.client, this.location, this.bucket);
    }
    this.confirmed.set(digest, Date.now());
    return true;
  }

  /** Was the chunk seen stored or uploaded by this process at or after `since` (ms)? */
  confirmedSince(digest: string, since: number): boolean {
    return (this.confirmed.get(digest) ?? -Infinity) >= since;
  }

  /**
   * A chunk's bytes, checked against its name: streamed into one buffer of its size while hashed
   * (the hash keeps pace with the network instead of a second pass; no concatenation copy), unless
   * `checkedByReader` (restore: the kernel hashes each chunk as it is staged and compares it with
   * its name). A chunk larger than a part (written by another tool) is fetched as ranged GETs in
   * parallel, at most `concurrency` at once.
   */
  async get(digest: string, bytes: number, signal?: AbortSignal, options: { checkedByReader?: boolean } = {}): Promise<Uint8Array> {
    const body = Buffer.allocUnsafe(bytes);
    const check = !options.checkedByReader;
    try {
      if (bytes > this.partBytes) {
        const ranges = Array.from({ length: Math.ceil(bytes / this.partBytes) }, (_, i) => i * this.partBytes);
        await eachAtMost(ranges, this.concurrency, (start) => this.readInto(digest, body, start, Math.min(bytes, start + this.partBytes), signal));
        if (check && createHash('sha256').update(body).digest('hex') !== digest) throw new ChunkMismatchError(this.location, digest, 'does not match its name (sha256 mismatch)');
      } else {
        const hash = check ? createHash('sha256') : undefined;
        await this.readInto(digest, body, 0, bytes, signal, hash);
        if (hash && hash.digest('hex') !== digest) throw new ChunkMismatchError(this.location, digest, 'does not match its name (sha256 mismatch)');
      }
    } catch (error) {
      if (isNotFound(error)) throw new ChunkMismatchError(this.location, digest, 'is missing');
      throw storeFailure(error, this.location, this.bucket);
    }
    return body;
  }

  /** GETs bytes [start, end) of a chunk into `into` at the same offsets; the whole object when they are all of it. */
  private async readInto(digest: string, into: Buffer, start: number, end: number, signal?: AbortSignal, hash?: Hash): Promise<void> {
    const whole = start === 0 && end === into.byteLength;
    // No ChecksumMode: the SDK would hash the chunk a second time; its SHA-256 is checked against its name.
    const reply = await this.client.send(
      new GetObjectCommand({ Bucket: this.bucket, Key: this.keyOf(digest), ...(whole ? {} : { Range: `bytes=${start}-${end - 1}` }) }),
      { abortSignal: signal },
    );
    const stream = reply.Body as (AsyncIterable<Uint8Array> & { destroy?: () => void }) | undefined;
    const size = whole ? reply.ContentLength : reply.ContentRange ? Number(/\/(\d+)$/.exec(reply.ContentRange)?.[1]) : undefined;
    if (size !== undefined && !Number.isNaN(size) && size !== into.byteLength) {
      stream?.destroy?.();
      throw new ChunkMismatchError(this.location, digest, `is ${size} bytes, the manifest says ${into.byteLength}`);
    }
    let at = start;
    for await (const piece of stream!) {
      if (at + piece.byteLength > end) {
        stream!.destroy?.();
        throw new ChunkMismatchError(this.location, digest, `is more than the ${into.byteLength} bytes the manifest says`);
      }
      into.set(piece, at);
      hash?.update(piece);
      at += piece.byteLength;
    }
    if (at !== end) throw new ChunkMismatchError(this.location, digest, `is shorter than the ${into.byteLength} bytes the manifest says`);
  }
}

/** Runs `work` on every item, at most `limit` at once; rejects with the first failure once all stopped. */
async function eachAtMost<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  let failed: { error: unknown } | undefined;
  const worker = async () => {
    while (!failed && next < items.length) {
      const item = items[next++]!;
      try {
        await work(item);
      } catch (error) {
        failed ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(Math.max(1, limit), items.length) }, worker));
  if (failed) throw failed.error;
}
