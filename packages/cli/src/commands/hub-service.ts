/**
 * nbferry hub-service: the JupyterHub service (@nbferry/jupyterhub) until SIGINT/SIGTERM, as
 * JupyterHub runs a managed service (its token and URLs come in JUPYTERHUB_* variables). Imported
 * here only, on demand, like `nbferry serve`: the other commands never load it.
 */
import { resolve } from 'node:path';
import type { MemoryPolicy } from '@nbferry/jupyterhub';
import { storeScheme } from '@nbferry/store';
import { UsageError } from '../errors.js';
import { EXIT } from '../exit-codes.js';

export interface HubServiceArgs {
  stores: string;
  publicUrl: string;
  idleTimeoutSeconds: number;
  warnSeconds: number;
  pollSeconds: number;
  memoryPolicy?: MemoryPolicy;
  timeoutMs?: number;
  logLevel: string;
  signal: AbortSignal;
}

export async function hubServiceCommand(args: HubServiceArgs): Promise<number> {
  const { startHubService } = await import('@nbferry/jupyterhub');
  const running = await startHubService({
    // A directory (relative to here) or a store URL (s3://bucket/prefix), kept as given.
    storeRoot: storeScheme(args.stores) === undefined ? resolve(args.stores) : args.stores,
    publicUrl: args.publicUrl,
    idleTimeoutSeconds: args.idleTimeoutSeconds,
    warnSeconds: args.warnSeconds,
    pollSeconds: args.pollSeconds,
    memoryPolicy: args.memoryPolicy,
    timeoutMs: args.timeoutMs,
    logger: { level: args.logLevel },
  }).catch((error: unknown) =>
    // Not run by a Hub (no JUPYTERHUB_* variables): the caller's setup, like a bad option.
    Promise.reject((error as { code?: string }).code === 'HUB_ENV_MISSING' ? new UsageError(`nbferry hub-service: ${(error as Error).message}`) : error),
  );
  await new Promise<void>((done) => {
    if (args.signal.aborted) done();
    else args.signal.addEventListener('abort', () => done(), { once: true });
  });
  await running.close();
  return EXIT.ok;
}
