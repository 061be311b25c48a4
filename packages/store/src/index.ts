export * from './errors.js';
export { FORMAT_VERSION, MANIFEST_FILE, decodeManifest, encodeManifest, type BlobEntry, type Environment, type Manifest } from './manifest.js';
export { LocalStore, CheckpointDraft, StoredCheckpoint, openCheckpoint, type ManifestInput } from './local-store.js';
export { writeFileDurable, replaceFileAtomic, syncDir } from './durable-fs.js';
export { crc32, fileChecksum, checksumAlgorithm, CRC_CHUNK_BYTES } from './checksum.js';
export { currentOwner, isAbandoned, processStartTicks, LEASE_TTL_MS, type LeaseOwner } from './staging-lease.js';
