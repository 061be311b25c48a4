/**
 * `nbferry serve`: the kernel service behind its HTTP API, on loopback unless told otherwise. With
 * a grace period, SIGTERM (what a node drain or a spot eviction sends) is a preemption notice:
 * every kernel is checkpointed within the grace period, most valuable first, then the service
 * lets go of its kernels and exits.
 */
import type { FastifyInstance, FastifyServerOptions } from 'fastify';
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
}

export async function startService(options: ServiceOptions): Promise<RunningService> {
  const service = new KernelService(options);
  const app = buildApi(service, options.token, options.logger ?? true);
  await app.listen({ host: options.host ?? '127.0.0.1', port: options.port ?? 8765 });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : (options.port ?? 8765);
  const host = options.host ?? '127.0.0.1';
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  let closing: Promise<void> | undefined;
  return {
    url,
    port,
    service,
    app,
    close: () =>
      (closing ??= (async () => {
        await app.close();
        await service.close();
      })()),
  };
}

/**
 * On SIGTERM: a notice of `graceSeconds` minus `marginSeconds` (what the service itself needs to
 * log and exit), then close. Returns a function that removes the handler.
 */
export function checkpointOnSigterm(
  running: RunningService,
  graceSeconds: number,
  onDone: (report: NoticeReport | undefined, error?: unknown) => void,
  marginSeconds = Math.min(2, graceSeconds * 0.1),
): () => void {
  const handler = () => {
    process.off('SIGTERM', handler);
    const deadline = Math.max(0.1, graceSeconds - marginSeconds);
    running.app.log.warn({ graceSeconds, deadlineSeconds: deadline }, 'SIGTERM: checkpointing every kernel before exit');
    running.service
      .handleNotice(deadline)
      .then(
        async (report) => {
          running.app.log.warn({ allSafe: report.allSafe, elapsedMs: report.elapsedMs, kernels: report.kernels }, 'SIGTERM notice handled');
          await running.close();
          onDone(report);
        },
        async (error: unknown) => {
          await running.close().catch(() => {});
          onDone(undefined, error);
        },
      )
      .catch(() => {});
  };
  process.on('SIGTERM', handler);
  return () => process.off('SIGTERM', handler);
}
