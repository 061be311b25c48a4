export { startService, type RunningService, type ServiceOptions } from './start-service.js';
export { KernelService, type KernelServiceOptions, type RegisterOptions, type FreshKernelOptions, type RestoreOutcome } from './kernel-service.js';
export { RegisteredKernel, type MemoryPolicy, type KernelSource, type KernelState, type CheckpointSummary } from './registered-kernel.js';
export { handleNotice, type NoticeReport, type NoticeOutcome } from './preemption.js';
export { ServiceMetrics, type Trigger } from './metrics.js';
export { apiRoutes, buildApi } from './http-api.js';
export { loadToken, tokenMatcher } from './auth.js';
export * from './errors.js';
export { cgroupMemoryLimit, residentBytes } from './memory-limit.js';
