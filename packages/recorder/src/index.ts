export { priorReads, type CellRecord } from './cell-record.js';
export { HistoryGraph, type HistoryGraphJson, type HistoryNode } from './history-graph.js';
export { Recorder, SHIM_COMM_TARGET, SHIM_STATUS_EXPRESSION, SHIM_VERSION_EXPRESSION, type AttachRecorderOptions, type BackgroundLoadEvent, type ShimCallOptions, type ShimOrigin, type RecorderEvents, type SavedChunksEvent, type ShimHello, type ShimProgress } from './recorder.js';
export { ShimChannel, type ShimReply } from './shim-channel.js';
export { loadShimBundle, injectionCode, injectionExpression, internalCode, INTERNAL_CODE_MARK, defaultShimRoot, type ShimBundle } from './shim-source.js';
export * from './errors.js';
export { SHIM_TIMEOUTS_MS, REPLY_GRACE_MS, defaultShimTimeoutMs } from './shim-timeouts.js';
