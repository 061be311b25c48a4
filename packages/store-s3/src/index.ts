export { S3Store, S3Draft, type S3StoreOptions } from './s3-store.js';
export { S3Chunks, DEFAULT_CONCURRENCY, DEFAULT_PART_BYTES } from './s3-chunks.js';
export { s3Gc, type S3GcOptions } from './s3-gc.js';
export { parseS3Url, createClient, isLocalOrIp, type S3Location, type ClientOptions } from './location.js';
export { ChunkMismatchError, StoreAccessDeniedError, StoreBucketMissingError, StoreFullError, StoreUnavailableError, storeFailure } from './errors.js';
export { GC_LEASE_KEY } from './leases.js';
