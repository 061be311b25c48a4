/**
 * Object-store failures as typed store errors: what happened and what to do. A failed write never
 * touches an earlier checkpoint (a checkpoint is visible only once its manifest is written, last).
 */
import { HeadBucketCommand, type S3Client } from '@aws-sdk/client-s3';
import { StoreError } from '@nbferry/store';

/** The store refused the credentials, or there are none. */
export class StoreAccessDeniedError extends StoreError {
  override name = 'StoreAccessDeniedError';
  constructor(location: string, detail: string, options?: { cause?: unknown }) {
    super(
      `object store ${location} refused access (${detail}). Check the credentials (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE) and that they may read and write this bucket; nothing was changed in the store`,
      'STORE_ACCESS_DENIED',
      options,
    );
  }
}

/** The bucket of the URL does not exist. */
export class StoreBucketMissingError extends StoreError {
  override name = 'StoreBucketMissingError';
  constructor(location: string, readonly bucket: string, options?: { cause?: unknown }) {
    super(`object store ${location}: bucket ${bucket} does not exist. Create it (aws s3 mb s3://${bucket}) or fix the URL`, 'STORE_BUCKET_MISSING', options);
  }
}

/** The store could not be reached, or kept failing or throttling after retries. */
export class StoreUnavailableError extends StoreError {
  override name = 'StoreUnavailableError';
  constructor(location: string, detail: string, options?: { cause?: unknown }) {
    super(
      `object store ${location} is unavailable (${detail}). The checkpoint was not committed and the previous one is intact; try again when the store answers (AWS_ENDPOINT_URL says where it is)`,
      'STORE_UNAVAILABLE',
      options,
    );
  }
}

/** The store is full (quota) or refused the object's size. */
export class StoreFullError extends StoreError {
  override name = 'StoreFullError';
  constructor(location: string, detail: string, options?: { cause?: unknown }) {
    super(`object store ${location} refused the write (${detail}): free space or raise the quota. The checkpoint was not committed and the previous one is intact`, 'STORE_FULL', options);
  }
}

/** A chunk's bytes are not what its name says (damaged in the store or on the way). */
export class ChunkMismatchError extends StoreError {
  override name = 'ChunkMismatchError';
  constructor(location: string, digest: string, detail: string) {
    super(`chunk ${digest} of ${location} ${detail}: the store was modified or damaged. Restore an earlier checkpoint (nbferry log ${location})`, 'CHUNK_MISMATCH');
  }
}

const ACCESS = new Set(['InvalidAccessKeyId', 'SignatureDoesNotMatch', 'AccessDenied', 'ExpiredToken', 'InvalidToken', 'CredentialsProviderError', 'AuthorizationHeaderMalformed']);
const FULL = new Set(['QuotaExceeded', 'EntityTooLarge', 'InsufficientStorage', 'XMinioStorageFull']);
const NETWORK = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'UND_ERR_SOCKET']);

interface SdkError {
  name?: string;
  code?: string;
  Code?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number };
  cause?: unknown;
}

/** The typed error for an SDK failure; StoreErrors (ours) pass through. */
export function storeFailure(error: unknown, location: string, bucket: string): Error {
  if (error instanceof StoreError) return error;
  const e = (error ?? {}) as SdkError;
  if ((error as Error)?.name === 'AbortError') return error as Error;
  const name = e.name ?? e.Code ?? '';
  const status = e.$metadata?.httpStatusCode;
  const code = e.code ?? (e.cause as SdkError | undefined)?.code ?? '';
  const detail = `${name || code || 'error'}${status ? ` (HTTP ${status})` : ''}: ${e.message ?? String(error)}`.slice(0, 500);
  if (name === 'NoSuchBucket') return new StoreBucketMissingError(location, bucket, { cause: error });
  if (ACCESS.has(name) || status === 403) return new StoreAccessDeniedError(location, detail, { cause: error });
  if (FULL.has(name) || status === 507) return new StoreFullError(location, detail, { cause: error });
  if (NETWORK.has(code) || NETWORK.has(name) || name === 'TimeoutError' || name === 'RequestTimeout' || name === 'SlowDown' || (status !== undefined && status >= 500)) {
    return new StoreUnavailableError(location, detail, { cause: error });
  }
  return new StoreError(`object store ${location}: ${detail}`, 'STORE_REQUEST_FAILED', { cause: error });
}

export function isNotFound(error: unknown): boolean {
  const e = error as SdkError;
  return e?.name === 'NoSuchKey' || e?.name === 'NotFound' || (e?.$metadata?.httpStatusCode === 404 && e?.name !== 'NoSuchBucket');
}

export function isPreconditionFailed(error: unknown): boolean {
  const e = error as SdkError;
  return e?.name === 'PreconditionFailed' || e?.$metadata?.httpStatusCode === 412 || e?.name === 'ConditionalRequestConflict' || e?.$metadata?.httpStatusCode === 409;
}

/**
 * The typed error for a failed write. A server error (5xx other than 503) that outlasted the SDK's
 * retries while the bucket still answers a read is a store refusing writes, not one that is down:
 * SeaweedFS answers a PUT into a bucket over its enforced quota (read-only) with a bare 500
 * InternalError, which nothing else distinguishes. Reported as StoreFullError.
 */
export async function writeFailure(error: unknown, client: S3Client, location: string, bucket: string): Promise<Error> {
  const failure = storeFailure(error, location, bucket);
  const status = (error as SdkError)?.$metadata?.httpStatusCode;
  if (!(failure instanceof StoreUnavailableError) || status === undefined || status < 500 || status === 503) return failure;
  try {
    await client.send(new HeadBucketCommand({ Bucket: bucket }));
  } catch {
    return failure; // reads fail too: unavailable
  }
  const e = error as SdkError;
  return new StoreFullError(location, `reads answer but writes keep failing with HTTP ${status} ${e.name ?? ''}: a full disk, an exceeded quota or a read-only bucket`, { cause: error });
}
