export {
  checkpoint,
  checkpointWith,
  type BlobWriter,
  describeCheckpoint,
  planOrDrop,
  prepareCheckpoint,
  serializePlanned,
  throwIfStateMoved,
  type CheckpointOptions,
  type CheckpointPipeline,
  type CheckpointResult,
  type PreparedCheckpoint,
} from './checkpoint.js';
export {
  restore,
  replay,
  type BlobSource,
  type CustomBlobLoader,
  type ReplayInput,
  type RestoreOptions,
  type UsableEvent,
  type RestoreReport,
  type StepTiming,
} from './restore.js';
export type { LoadResult, LoadSpec, SaveGuard, SavedBlob } from './shim-api.js';
export { saveToBuffers } from './shim-api.js';
export { migrateLive, type LiveMigrationOptions, type LiveMigrationReport } from './live-migrate.js';
export { verify, type VariableOutcome, type VariableReport, type VerificationReport } from './verification.js';
export { compareEnvironments, type Mismatch } from './compatibility.js';
export { kernelEnvironment } from './environment.js';
export { planningProblem, plannerCells, DEFAULT_COSTS } from './planning-problem.js';
export { renderVerification, formatBytes, formatMs } from './report.js';
export type { CheckpointBody, CheckpointTimings } from './manifest-body.js';
export type { ProgressEvent, ProgressListener } from './progress.js';
export * from './errors.js';
export { prepareTarget, userModules, warmUp, type PreparedTarget } from './warm-up.js';
export { restoreToNewKernel } from './restore-new-kernel.js';
export { assertCheckpointBody, checkpointBodyProblem } from './body-check.js';
export { checkpointWorkingDirectory, type WorkingDirectoryOptions } from './working-directory.js';
export { configuredKey, readKeyFile, writeKeyFile, type CheckpointKey, type TrustOptions } from '@nbferry/store';
export { log, renderLog, type LogEntry } from './history-log.js';
export { checkout, undo, type CheckoutOptions, type CheckoutReport } from './checkout.js';
export { migrateToStandby, Standby, type StandbyMigration, type StandbyOptions } from './standby.js';
export { commitLineage, lastCheckpointOf, lineageOf, storeIdentity, type LineagePoint } from './lineage.js';
export { gc, type GcOptions, type GcResult } from '@nbferry/store';
export { AutoCheckpointer, type AutoCheckpointOptions, type AutoCheckpointStats } from './auto-checkpoint.js';
export { fork, ForkError, type ForkChild, type ForkOptions, type ForkResult } from './fork.js';
export { WarmPool, WarmPoolClosedError, DEFAULT_WARM_MODULES, type WarmKernel, type WarmPoolOptions } from './warm-pool.js';
export {
  migrateThroughStore,
  restoreManyThroughStore,
  PipelinedMigrationError,
  type PipelinedMigrationOptions,
  type PipelinedMigrationResult,
  type PipelinedManyResult,
  type PipelineTarget,
  type PipelineTimeline,
} from './pipelined.js';
export { StoredChunkError } from './stored-chunk-stream.js';
