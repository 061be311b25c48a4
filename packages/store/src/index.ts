export * from './errors.js';
export { FORMAT_VERSION, READABLE_VERSIONS, MANIFEST_FILE, decodeManifest, encodeManifest, manifestProblem, type BlobEntry, type Environment, type Manifest } from './manifest.js';
export {
  LocalStore,
  CheckpointDraft,
  StoredCheckpoint,
  openCheckpoint,
  type ManifestInput,
  type SignatureStatus,
  type StoreOptions,
  type TrustOptions,
} from './local-store.js';
export { writeFileDurable, replaceFileAtomic, syncDir } from './durable-fs.js';
export {
  crc32,
  fileChecksum,
  checksumAlgorithm,
  CHECKSUM_ALGORITHMS,
  CRC_CHUNK_BYTES,
  CRYPTOGRAPHIC_CHECKSUMS,
  HASH_CHUNK_BYTES,
} from './checksum.js';
export {
  KEY_FILE_ENV,
  SIGNATURE_FILE,
  configuredKey,
  decodeSignature,
  encodeSignature,
  keyIdOf,
  readKeyFile,
  signManifest,
  signatureMatches,
  writeKeyFile,
  type CheckpointKey,
  type ManifestSignature,
} from './signing.js';
export { assertSafeName, isSafeName } from './names.js';
export { CHUNKS_DIR, chunkPath, chunkSpans, isChunkName, readChunkedBlob, verifyChunk } from './chunks.js';
export { openRegularFile } from './safe-open.js';
export { currentOwner, isAbandoned, processStartTicks, LEASE_TTL_MS, type LeaseOwner } from './staging-lease.js';
export { gc, GC_WRITER_WAIT_MS, type GcOptions, type GcResult } from './gc.js';
export { beyondRetention, checkGcOptions, referencedChunks } from './retention.js';
export { GC_LEASE, GcBusyError, StoreBusyError } from './gc-lease.js';
export type { CheckpointStore, RemoteChunks, StoreDraft } from './store-api.js';
export { openStore, storeScheme, S3_STORE_PACKAGE, StoreBackendMissingError, UnsupportedStoreUrlError, type OpenStoreOptions, type RemoteStoreOptions } from './open-store.js';
