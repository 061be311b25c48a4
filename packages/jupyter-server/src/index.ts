export * from './errors.js';
export { ServerApi, type ContentsModel, type KernelModel, type NewSession, type ServerInfo, type SessionModel } from './server-api.js';
export { ServerTransport, DEFAULT_MAX_MESSAGE_BYTES, type ServerTransportOptions, type ServicesKernelConnection } from './server-transport.js';
export { startServerKernel, connectServerKernel, type ServerKernel, type ServerKernelOptions } from './server-kernel.js';
export { routeServicesLogs, type ServicesLogHandler, type ServicesLogLevel } from './services-log.js';
export { exactSerializer, encodedSize, V1_PROTOCOL, type WireMessage, type WireSerializer } from './wire-serializer.js';
export {
  DEFAULT_CHUNK_BYTES,
  chunkBytesFor,
  stageBlob,
  stagedLoader,
  stagedBuffers,
  stagedCheckpointFiles,
  type BlobBytes,
  type StagingOptions,
} from './staging.js';
export { checkpointOverWire, restoreOverWire } from './remote-checkpoint.js';
export { migrateSession, type SessionMigrationOptions, type SessionMigrationReport } from './migrate-session.js';
export { CullGuard, guardStoreDir, type CullGuardOptions, type GuardCheckpoint } from './cull-guard.js';
export { restoreOnReturn, type RestoreOnReturnOptions, type RestoreOnReturnResult } from './restore-on-return.js';
