/**
 * `nbferry serve`: the kernel service behind its HTTP API, on loopback unless told otherwise.
 * `drain` is what SIGTERM (a node drain, a spot eviction) does with a grace period: a preemption
 * notice for every kernel within it, most valuable first, then the service lets go of its kernels.
 */
import type { FastifyInstance, FastifyServerOptions } from 'fastify';
import { ServiceError } from './errors.js';
import { buildApi } from './http-api.js';
import { KernelService, type KernelServiceOptions } from './kernel-service.js';
import type { NoticeReport } from './preemption.js';

export interface ServiceOptions extends KernelServiceOptions {
  token: string;
  /** Default 127.0.0.1: other machines reach the service only if an operator says so. */
  host?: string;
  /** Default 8765; 0 picks a free port. */
  port?: number;
  /** fastify's logger (pino) options; default JSON lines at info to stdout. false: silent. */
  logger?: FastifyServerOptions['logger'];
}

export interface RunningService {
  url: string;
  port: number;
  service: KernelService;
  app: FastifyInstance;
  /** Stops listening and lets go of every kernel (they keep running). */
  close(): Promise<void>;
  /**
   * What to do on SIGTERM with a grace period: a preemption notice of `graceSeconds` minus a margin
   * (what logging and exiting need), then close. Resolves with the notice's report.
   */
  drain(graceSeconds: number): Promise<NoticeReport>;
}

export async function startService(options: ServiceOptions): Promise<RunningService> {
  const service = new KernelService(options);
  // An object-store root is checked now (unknown scheme, missing bucket, refused credentials), not at the first checkpoint.
  if (service.remote) await service.stores();
  const app = buildApi(service, options.token, options.logger ?? true);
  try {
    await app.listen({ host: options.host ?? '127.0.0.1', port: options.port ?? 8765 });
  } catch (error) {
    await service.close();
    const code = (error as NodeJS.ErrnoException).code;
    throw new ServiceError(
      `cannot listen on ${options.host ?? '127.0.0.1'}:${options.port ?? 8765}: ${(error as Error).message}` +
        (code === 'EADDRINUSE' ? ' (another process has that port: choose another with --port, or 0 for any free one)' : ''),
      'SERVICE_LISTEN_FAILED',
      500,
      { cause: error },
    );
  }
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : (options.port ?? 8765);
  const host = options.host ?? '127.0.0.1';
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      await app.close();
      await service.close();
    })());
  return {
    url,
    port,
    service,
    app,
    close,
    async drain(graceSeconds) {
      const deadlineSeconds = Math.max(0.1, graceSeconds - Math.min(2, graceSeconds * 0.1));
      app.log.warn({ graceSeconds, deadlineSeconds }, 'terminating: checkpointing every kernel first');
      try {
        const report = await service.handleNotice(deadlineSeconds);
        app.log.warn({ allSafe: report.allSafe, elapsedMs: report.elapsedMs, kernels: report.kernels }, 'kernels checkpointed before exit');
        return report;
      } finally {
        await close();
      }
    },
  };
}
