/**
 * The HTTP API (fastify): the routes of openapi.json, bodies validated against its schemas, bearer
 * token on every route but /health, typed errors as `{error: {code, message}}`, structured logs
 * (pino: one JSON line per request; the token and request bodies are never logged).
 */
import Fastify, { type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest, type FastifyServerOptions } from 'fastify';
import { CheckpointLossError, NothingToUndoError, type ProgressListener } from '@nbferry/migrate';
import { NbferryError } from '@nbferry/protocol';
import { CheckpointNotFoundError } from '@nbferry/store';
import { tokenMatcher } from './auth.js';
import { ServiceError } from './errors.js';
import type { KernelService } from './kernel-service.js';
import openapi from './openapi.json' with { type: 'json' };

const schemas = openapi.components.schemas;
/** Routes open without a token (a load balancer's or kubelet's probe). */
const PUBLIC_ROUTES = new Set(['/health']);

interface IdParams {
  id: string;
}

interface StoreParams {
  store: string;
}

export function buildApi(service: KernelService, token: string, logger: FastifyServerOptions['logger'] = true): FastifyInstance {
  const app = Fastify({
    logger,
    exposeHeadRoutes: false,
    // Reject unknown fields (a typo'd option) instead of dropping them silently.
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false } },
  });
  const authorized = tokenMatcher(token);
  /**
   * Runs a long operation in the request (the response is its result) or, with `?async=1`, as a job:
   * 202 `{job}` at once, progress and result at GET /jobs/{job}.
   */
  const maybeAsync = async (request: FastifyRequest, reply: FastifyReply, operation: string, run: (onProgress?: ProgressListener) => Promise<unknown>) => {
    const { async: wanted } = (request.query ?? {}) as { async?: string };
    if (wanted !== '1' && wanted !== 'true') return run();
    const job = service.jobs.start(operation, run, (error) => request.log.warn({ job: operation, code: (error as { code?: unknown }).code }, 'job failed'));
    request.log.info({ job, operation }, 'job started');
    return reply.code(202).send({ job });
  };
  const routes: { method: string; url: string }[] = [];
  routeLists.set(app, routes);
  app.addHook('onRoute', (route) => {
    for (const method of [route.method].flat()) routes.push({ method: method.toLowerCase(), url: route.url });
  });

  app.addHook('onRequest', async (request, reply) => {
    if (PUBLIC_ROUTES.has(request.routeOptions.url ?? '')) return;
    if (!authorized(request.headers.authorization)) {
      await reply
        .code(401)
        .header('www-authenticate', 'Bearer')
        .send({ error: { code: 'UNAUTHORIZED', message: 'missing or wrong token: send "Authorization: Bearer <token>" (the service\'s --token-file)' } });
    }
  });
  // A POST without a body means "no options".
  app.addHook('preValidation', async (request) => {
    if (request.body === undefined && request.method !== 'GET' && request.method !== 'DELETE') request.body = {};
  });
  app.setErrorHandler((error: FastifyError, request, reply) => {
    const { status, body } = errorResponse(error);
    if (status >= 500) request.log.error({ err: error }, 'request failed');
    else request.log.info({ code: body.error.code }, 'request refused');
    void reply.code(status).send(body);
  });

  app.get('/health', async () => ({ status: 'ok', kernels: service.list().length }));

  app.get('/metrics', async (_request, reply) => {
    const text = await service.metrics.registry.metrics();
    return reply.type(service.metrics.registry.contentType).send(text);
  });

  app.get('/kernels', async () => ({ kernels: service.list() }));

  app.post<{ Body: { connectionFile?: string; serverUrl?: string; token?: string; kernelId?: string; id?: string; store?: string; autoCheckpointIdleMs?: number } }>(
    '/kernels',
    { schema: { body: schemas.RegisterRequest } },
    async (request, reply) => {
      const { connectionFile, serverUrl, token: serverToken, kernelId, ...options } = request.body;
      const state = connectionFile
        ? await service.registerConnectionFile(connectionFile, options)
        : await service.registerServerKernel(serverUrl!, serverToken!, kernelId!, options);
      request.log.info({ kernel: state.id, source: state.source.kind, shim: state.shim }, 'kernel registered');
      return reply.code(201).send(state);
    },
  );

  app.get<{ Params: IdParams }>('/kernels/:id', async (request) => service.get(request.params.id).state());

  app.delete<{ Params: IdParams }>('/kernels/:id', async (request, reply) => {
    await service.unregister(request.params.id);
    return reply.code(204).send();
  });

  app.post<{ Params: IdParams; Body: { deadlineSeconds?: number; allowLoss?: boolean } }>(
    '/kernels/:id/checkpoint',
    { schema: { body: schemas.CheckpointRequest } },
    async (request, reply) => {
      const { deadlineSeconds, allowLoss } = request.body;
      const kernel = service.get(request.params.id);
      const deadlineMs = deadlineSeconds === undefined ? undefined : deadlineSeconds * 1000;
      return maybeAsync(request, reply, 'checkpoint', async (onProgress) => {
        const signal = deadlineMs === undefined ? undefined : AbortSignal.timeout(deadlineMs);
        const summary = await kernel.checkpoint({ trigger: 'api', deadlineMs, allowLoss, signal, onProgress });
        request.log.info({ kernel: kernel.id, checkpoint: summary.id, newBytes: summary.newBytes, ms: summary.durationMs }, 'checkpoint committed');
        return summary;
      });
    },
  );

  app.get('/stores', async () => ({ stores: await service.stores() }));

  app.post<{ Params: StoreParams; Body: { checkpointId?: string; python?: string; cwd?: string; id?: string } }>(
    '/stores/:store/restore',
    { schema: { body: schemas.RestoreRequest } },
    async (request, reply) => {
      const { checkpointId, ...fresh } = request.body;
      (await service.store(request.params.store)).close?.(); // an unknown store is a 404 now, not a failed job
      return maybeAsync(request, reply, 'restore', async (onProgress) => {
        const outcome = await service.restore(request.params.store, checkpointId, fresh, onProgress);
        request.log.info({ store: request.params.store, restored: outcome.kernel.id, ok: outcome.ok, lost: outcome.lost.length }, 'restored');
        return outcome;
      });
    },
  );

  app.get('/targets', async () => ({ targets: service.targets() }));

  app.post<{ Params: IdParams; Body: { python?: string; cwd?: string; id?: string; store?: string; target?: string; path?: string } }>(
    '/kernels/:id/migrate',
    { schema: { body: schemas.MigrateRequest } },
    async (request, reply) => {
      service.get(request.params.id);
      const { store, ...options } = request.body;
      return maybeAsync(request, reply, 'migrate', async (onProgress) => {
        const outcome = await service.migrate(request.params.id, options, onProgress, store);
        const from = { ...(outcome.kernelFrom ? { kernelFrom: outcome.kernelFrom } : {}), ...(outcome.standbyUnusable !== undefined ? { standbyUnusable: outcome.standbyUnusable } : {}) };
        request.log.info({ kernel: request.params.id, migrated: outcome.kernel.id, target: options.target ?? null, ok: outcome.ok, lost: outcome.lost.length, ...from, ...(store ? { store } : {}) }, 'migrated');
        return outcome;
      });
    },
  );

  app.post<{ Params: IdParams }>('/kernels/:id/undo', { schema: { body: schemas.UndoRequest } }, async (request, reply) => {
    const kernel = service.get(request.params.id);
    return maybeAsync(request, reply, 'undo', async (onProgress) => {
      const outcome = await kernel.restoreInPlace(undefined, { timeoutMs: service.options.timeoutMs, onProgress });
      request.log.info({ kernel: kernel.id, checkpoint: outcome.checkpointId, ok: outcome.ok, ms: outcome.timings.totalMs }, 'undone');
      return outcome;
    });
  });

  app.post<{ Params: IdParams; Body: { checkpointId: string } }>('/kernels/:id/checkout', { schema: { body: schemas.CheckoutRequest } }, async (request, reply) => {
    const kernel = service.get(request.params.id);
    return maybeAsync(request, reply, 'checkout', async (onProgress) => {
      const outcome = await kernel.restoreInPlace(request.body.checkpointId, { timeoutMs: service.options.timeoutMs, onProgress });
      request.log.info({ kernel: kernel.id, checkpoint: outcome.checkpointId, ok: outcome.ok, ms: outcome.timings.totalMs }, 'checked out');
      return outcome;
    });
  });

  app.get<{ Params: IdParams }>('/kernels/:id/history', async (request) => service.history(request.params.id));

  app.get<{ Params: IdParams }>('/kernels/:id/plan', async (request) => service.plan(request.params.id));

  app.get<{ Params: { job: string } }>('/jobs/:job', async (request) => service.jobs.get(request.params.job));

  app.get<{ Params: StoreParams }>('/stores/:store/log', async (request) => ({ checkpoints: await service.log(request.params.store) }));

  app.post<{ Params: StoreParams; Body: { keep?: number; keepWithinSeconds?: number } }>(
    '/stores/:store/gc',
    { schema: { body: schemas.GcRequest } },
    async (request) => {
      const { keep, keepWithinSeconds } = request.body;
      return service.gc(request.params.store, keep, keepWithinSeconds === undefined ? undefined : keepWithinSeconds * 1000);
    },
  );

  app.put<{ Params: IdParams; Body: { enabled: boolean; idleMs?: number } }>(
    '/kernels/:id/auto-checkpoint',
    { schema: { body: schemas.AutoCheckpointRequest } },
    async (request) => {
      const kernel = service.get(request.params.id);
      await kernel.setAutoCheckpoint(request.body.enabled ? (request.body.idleMs ?? 500) : undefined);
      return kernel.state();
    },
  );

  app.put<{ Params: IdParams; Body: { enabled: boolean; limitBytes?: number; thresholdFraction?: number; intervalMs?: number } }>(
    '/kernels/:id/memory-watch',
    { schema: { body: schemas.MemoryWatchRequest } },
    async (request) => {
      const kernel = service.get(request.params.id);
      const { enabled, ...policy } = request.body;
      await kernel.setMemoryWatch(enabled ? policy : undefined);
      return kernel.state();
    },
  );

  app.post<{ Body: { deadlineSeconds: number } }>('/notice', { schema: { body: schemas.NoticeRequest } }, async (request) => {
    request.log.warn({ deadlineSeconds: request.body.deadlineSeconds }, 'preemption notice');
    const report = await service.handleNotice(request.body.deadlineSeconds);
    request.log.warn({ allSafe: report.allSafe, elapsedMs: report.elapsedMs, outcomes: report.kernels.map((k) => `${k.id}:${k.outcome}`) }, 'preemption notice handled');
    return report;
  });

  app.get('/notice', async () => {
    if (!service.lastNotice) throw new ServiceError('no preemption notice has been received', 'NO_NOTICE', 404);
    return service.lastNotice;
  });

  return app;
}

const routeLists = new WeakMap<FastifyInstance, { method: string; url: string }[]>();

/** Every route an API built by buildApi serves (`/kernels/:id`-style paths, lower-case methods). */
export function apiRoutes(app: FastifyInstance): { method: string; url: string }[] {
  return [...(routeLists.get(app) ?? [])];
}

function errorResponse(error: FastifyError): { status: number; body: { error: { code: string; message: string; [key: string]: unknown } } } {
  if (error.validation) return { status: 400, body: { error: { code: 'BAD_REQUEST', message: `invalid request: ${error.message}` } } };
  if (error instanceof ServiceError) return { status: error.httpStatus, body: { error: { code: error.code, message: error.message } } };
  if (error instanceof CheckpointLossError) {
    return { status: 409, body: { error: { code: error.code, message: error.message, unrecoverable: error.unrecoverable } } };
  }
  if (error instanceof NothingToUndoError) return { status: 409, body: { error: { code: error.code, message: error.message } } };
  if (error instanceof CheckpointNotFoundError) return { status: 404, body: { error: { code: error.code, message: error.message } } };
  if (error instanceof NbferryError) return { status: 500, body: { error: { code: error.code, message: error.message } } };
  const status = typeof error.statusCode === 'number' && error.statusCode >= 400 && error.statusCode < 500 ? error.statusCode : 500;
  return { status, body: { error: { code: status === 500 ? 'INTERNAL' : (error.code ?? 'BAD_REQUEST'), message: error.message } } };
}
