export * from './errors.js';
export { cancellable, delay, type CallOptions } from './abort.js';
export { Emitter } from './emitter.js';
export {
  createConnectionFile,
  readConnectionFile,
  writeConnectionFile,
  endpoint,
  type ConnectionInfo,
  type NewConnectionOptions,
} from './connection.js';
export { findKernelSpec, jupyterDataPaths, type KernelSpec } from './kernelspec.js';
export { KernelProcess, type ProcessExit } from './kernel-process.js';
export type { KernelTransport, MessageHandler, TransportStats } from './transport.js';
export { ZmqTransport } from './zmq-transport.js';
export { Heartbeat, type HeartbeatOptions } from './heartbeat.js';
export { Comm, type CommMessage, type CommSender, type CommSendOptions } from './comm.js';
export { streamText, type Output } from './outputs.js';
export {
  KernelClient,
  type ExecuteOptions,
  type ExecuteResult,
  type InputRequest,
  type KernelClientEvents,
  type KernelOwner,
  type RequestOptions,
} from './kernel-client.js';
export { launchKernel, attachKernel, type AttachOptions, type Kernel, type LaunchOptions } from './launch.js';
