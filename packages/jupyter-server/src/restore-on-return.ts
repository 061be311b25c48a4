/**
 * The other half of the culling hook: when the user comes back to a notebook whose kernel was
 * culled, restore its last checkpoint into a kernel on the server.
 *
 * - If the server has a session at `sessionPath` (the user reopened the notebook and the frontend
 *   started a fresh kernel), the checkpoint is restored into that session's kernel.
 * - Otherwise a kernel is started (cwd: the notebook's directory) and, with `sessionPath`, a
 *   session is created for it, so a frontend that opens the notebook attaches to it.
 */
import { dirname } from 'node:path/posix';
import type { CallOptions } from '@nbferry/kernel';
import type { CheckpointBody, RestoreOptions, RestoreReport } from '@nbferry/migrate';
import { openCheckpoint, type StoredCheckpoint } from '@nbferry/store';
import { ServerApi, type ServerInfo, type SessionModel } from './server-api.js';
import { connectServerKernel, startServerKernel, type ServerKernel, type ServerKernelOptions } from './server-kernel.js';
import { restoreOverWire } from './remote-checkpoint.js';

export interface RestoreOnReturnOptions extends Omit<RestoreOptions, 'blobSource'> {
  server: ServerInfo | ServerApi;
  /** A checkpoint directory, or a store (its latest checkpoint), e.g. a CullGuard's `storeDir`. */
  checkpoint: string | StoredCheckpoint<CheckpointBody>;
  /** The notebook's path on the server. */
  sessionPath?: string;
  /** Kernelspec for a new kernel (default: the server's default). */
  kernelName?: string;
  connection?: Omit<ServerKernelOptions, keyof CallOptions>;
}

export interface RestoreOnReturnResult {
  kernelId: string;
  /** The session now serving the notebook, when `sessionPath` was given. */
  session?: SessionModel;
  /** Whether the kernel was started here (false: the session's existing kernel was used). */
  startedKernel: boolean;
  report: Omit<RestoreReport, 'recorder'>;
}

export async function restoreOnReturn(options: RestoreOnReturnOptions): Promise<RestoreOnReturnResult> {
  const api = options.server instanceof ServerApi ? options.server : new ServerApi(options.server);
  const call: CallOptions = { signal: options.signal, timeoutMs: options.timeoutMs };
  const checkpoint = typeof options.checkpoint === 'string' ? await openCheckpoint<CheckpointBody>(options.checkpoint) : options.checkpoint;
  const existing = options.sessionPath === undefined ? undefined : await api.findSessionByPath(options.sessionPath, call);
  const kernelOptions: ServerKernelOptions = { ...options.connection, signal: options.signal };
  let kernel: ServerKernel;
  if (existing?.kernel) kernel = await connectServerKernel(api, existing.kernel.id, kernelOptions);
  else kernel = await startServerKernel(api, { name: options.kernelName, path: options.sessionPath === undefined ? undefined : dirname(options.sessionPath) }, kernelOptions);
  const started = !existing?.kernel;
  try {
    const { recorder: _recorder, ...report } = await restoreOverWire(checkpoint, kernel.client, options);
    let session = existing;
    if (options.sessionPath !== undefined && !existing) {
      session = await api.createSession({ path: options.sessionPath, kernel: { id: kernel.kernelId } }, call);
    } else if (existing && !existing.kernel) {
      session = await api.setSessionKernel(existing.id, kernel.kernelId, call);
    }
    await kernel.detach();
    return { kernelId: kernel.kernelId, ...(session ? { session } : {}), startedKernel: started, report };
  } catch (error) {
    // A kernel we started is ours to clean up; a session's kernel stays for its frontend.
    await (started ? kernel.shutdown() : kernel.detach()).catch(() => {});
    throw error;
  }
}
