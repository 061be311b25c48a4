/**
 * Checkpoint every kernel of a user's server into the user's stores, and verify each checkpoint:
 * nothing the plan cannot bring back (a checkpoint that would lose a variable is refused), and the
 * committed checkpoint read back from the store: manifest, signature if any, every blob against its
 * checksum. The variable-by-variable verification runs when the checkpoint is restored (the report
 * the user gets on return).
 *
 * A local store gets the blobs in the kernel's replies, written by this service; an object store
 * (`s3://`) gets them chunk by chunk through this service into the bucket (bytes kernel -> service
 * -> bucket, never a whole blob in memory), read back from the bucket for the verification.
 */
import { checkpointOverWire, connectServerKernel, type ServerApi } from '@nbferry/jupyter-server';
import { checkpoint, type CheckpointBody } from '@nbferry/migrate';
import { Recorder } from '@nbferry/recorder';
import { LocalStore, openCheckpoint, openStore } from '@nbferry/store';
import type { ServerSnapshot } from './user-server.js';
import type { SuspendedSession, UserStores } from './user-stores.js';

export interface ServerCheckpointResult {
  saved: SuspendedSession[];
  failures: { kernelId: string; path?: string; reason: string }[];
}

export interface CheckpointServerOptions {
  signal?: AbortSignal;
  /** Bound on each of nbferry's requests to a kernel. */
  timeoutMs?: number;
}

export async function checkpointServer(
  api: ServerApi,
  user: string,
  server: ServerSnapshot,
  stores: UserStores,
  options: CheckpointServerOptions = {},
): Promise<ServerCheckpointResult> {
  const saved: SuspendedSession[] = [];
  const failures: ServerCheckpointResult['failures'] = [];
  for (const kernel of server.kernels) {
    const path = server.sessions.find((s) => s.kernel?.id === kernel.id)?.path ?? null;
    try {
      saved.push(await checkpointKernel(api, user, { kernelId: kernel.id, kernelName: kernel.name, path }, stores, options));
    } catch (error) {
      failures.push({ kernelId: kernel.id, ...(path !== null ? { path } : {}), reason: (error as Error).message });
    }
  }
  return { saved, failures };
}

async function checkpointKernel(
  api: ServerApi,
  user: string,
  target: { kernelId: string; kernelName: string; path: string | null },
  stores: UserStores,
  { signal, timeoutMs }: CheckpointServerOptions,
): Promise<SuspendedSession> {
  const storeDir = stores.storeDir(user, target);
  const store = await openStore(storeDir);
  const connected = await connectServerKernel(api, target.kernelId, { signal, timeoutMs });
  try {
    const recorder = await Recorder.attach(connected.client, { signal, timeoutMs });
    const options = { signal, timeoutMs, refuseLoss: true };
    const result = store instanceof LocalStore ? await checkpointOverWire(recorder, store, options) : await checkpoint(recorder, store, options);
    // Read back as a restore would: the manifest from the store, every blob against its checksum.
    const stored = store instanceof LocalStore ? await openCheckpoint<CheckpointBody>(result.checkpoint.dir) : await store.open<CheckpointBody>(result.checkpoint.manifest.id);
    for (const blob of stored.manifest.blobs) {
      if (!(await stored.verifyBlob(blob))) throw new Error(`checkpoint ${stored.manifest.id}: blob ${blob.file} does not match its checksum as read back from ${storeDir}`);
    }
    const totalBytes = stored.manifest.stats?.totalBytes ?? stored.manifest.blobs.reduce((sum, blob) => sum + blob.bytes, 0);
    return { ...target, storeDir, checkpointDir: result.checkpoint.dir, checkpointId: stored.manifest.id, totalBytes };
  } finally {
    await connected.detach().catch(() => {});
    store.close?.();
  }
}
