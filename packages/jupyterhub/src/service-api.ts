/**
 * The service's own HTTP API, behind the Hub's proxy at /services/<name>/ (JUPYTERHUB_SERVICE_PREFIX):
 *
 *   GET  health           no token
 *   GET  status[?user=U]  every server the service watches: phase, idle since, the last suspend,
 *                         restore (with its verification report), move, and the last error
 *   POST move {user, from, to, userOptions?, stopSource?}   move a session to another named server
 *   GET  metrics          operator metrics, Prometheus text format (metrics.ts)
 *
 * A request needs `Authorization: token <T>` (or Bearer): the service's own token, or a Hub token
 * whose owner holds the `admin:servers` scope (asked from the Hub); for `metrics`, `read:metrics`
 * (the Hub's own scope for its metrics, what a Prometheus scraper's token holds) suffices too.
 * Anything else: 401/403.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import { HubAuthError, HubRequestError, HubServiceError } from './errors.js';
import type { HubApi } from './hub-api.js';
import type { MoveRequest } from './move-server.js';
import type { Suspender } from './suspender.js';

const digest = (text: string) => createHash('sha256').update(text, 'utf8').digest();

export interface ServiceApiOptions {
  suspender: Suspender;
  hub: HubApi;
  /** The service's own token. */
  token: string;
  /** e.g. `/services/nbferry/` */
  prefix: string;
  logger?: FastifyServerOptions['logger'];
}

const moveSchema = {
  type: 'object',
  required: ['user', 'to'],
  additionalProperties: false,
  properties: {
    user: { type: 'string', minLength: 1 },
    from: { type: 'string' },
    to: { type: 'string', minLength: 1 },
    userOptions: { type: 'object' },
    stopSource: { type: 'boolean' },
  },
} as const;

export function buildServiceApi(options: ServiceApiOptions): FastifyInstance {
  const app = Fastify({ logger: options.logger ?? true });
  const prefix = options.prefix.endsWith('/') ? options.prefix : `${options.prefix}/`;
  const own = digest(options.token);

  app.addHook('onRequest', async (request) => {
    if (request.url === `${prefix}health`) return;
    const match = /^(?:token|bearer)\s+(\S+)\s*$/i.exec(request.headers.authorization ?? '');
    if (!match) throw new HubAuthError('no token: send "Authorization: token <T>" (the service\'s token, or a Hub token with admin:servers)', 401);
    if (timingSafeEqual(digest(match[1]!), own)) return;
    const owner = await options.hub.tokenOwner(match[1]!);
    if (!owner) throw new HubAuthError('the token is not one the Hub knows', 401);
    const metrics = request.url === `${prefix}metrics` || request.url.startsWith(`${prefix}metrics?`);
    if (owner.scopes.includes('admin:servers') || (metrics && owner.scopes.includes('read:metrics'))) return;
    throw new HubAuthError(`${owner.kind} "${owner.name}" lacks the ${metrics ? 'read:metrics (or admin:servers)' : 'admin:servers'} scope this API needs`, 403);
  });

  app.setErrorHandler((error, request, reply) => {
    if (error instanceof HubServiceError) {
      if (error.httpStatus >= 500) request.log.error({ err: error }, 'request failed');
      return reply.code(error.httpStatus).send({ error: { code: error.code, message: error.message } });
    }
    const validation = (error as { validation?: unknown }).validation;
    if (validation) return reply.code(400).send({ error: { code: 'HUB_BAD_REQUEST', message: (error as Error).message } });
    request.log.error({ err: error }, 'request failed');
    return reply.code(500).send({ error: { code: 'INTERNAL', message: (error as Error).message } });
  });

  app.get(`${prefix}health`, async () => ({ status: 'ok' }));
  app.get(`${prefix}metrics`, async (_request, reply) => {
    const { registry } = options.suspender.metrics;
    return reply.type(registry.contentType).send(await registry.metrics());
  });
  app.get<{ Querystring: { user?: string } }>(`${prefix}status`, async (request) => ({ servers: options.suspender.status(request.query.user) }));
  app.post<{ Body: MoveRequest }>(`${prefix}move`, { schema: { body: moveSchema } }, async (request) => {
    const body = request.body;
    if (!(await options.hub.getUser(body.user))) throw new HubRequestError(`the Hub has no user "${body.user}"`, 404);
    return options.suspender.move({ ...body, from: body.from ?? '' });
  });
  return app;
}
