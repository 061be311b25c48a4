/**
 * Start the service as JupyterHub runs a managed service: the Hub passes its API token and URLs in
 * the environment (JUPYTERHUB_API_TOKEN, JUPYTERHUB_API_URL, JUPYTERHUB_SERVICE_URL where to listen,
 * JUPYTERHUB_SERVICE_PREFIX the path behind the proxy); the rest is configuration.
 */
import type { FastifyInstance, FastifyServerOptions } from 'fastify';
import { HubServiceError } from './errors.js';
import { HubApi } from './hub-api.js';
import type { MemoryPolicy } from './right-sizing.js';
import { buildServiceApi } from './service-api.js';
import { Suspender } from './suspender.js';
import { UserStores } from './user-stores.js';

export interface HubServiceOptions {
  /** Where the users' stores go (one per user and notebook path): a directory or `s3://bucket/prefix`. */
  storeRoot: string;
  /** The Hub's public URL (the proxy), e.g. https://hub.example.org/ */
  publicUrl: string;
  idleTimeoutSeconds: number;
  warnSeconds?: number;
  pollSeconds?: number;
  timeoutMs?: number;
  memoryPolicy?: MemoryPolicy;
  env?: NodeJS.ProcessEnv;
  logger?: FastifyServerOptions['logger'];
}

export interface RunningHubService {
  url: string;
  app: FastifyInstance;
  suspender: Suspender;
  close(): Promise<void>;
}

export async function startHubService(options: HubServiceOptions): Promise<RunningHubService> {
  const env = options.env ?? process.env;
  const need = (name: string) => {
    const value = env[name];
    if (!value) throw new HubServiceError(`${name} is not set: run this as a JupyterHub managed service (c.JupyterHub.services), or set it`, 'HUB_ENV_MISSING');
    return value;
  };
  const token = need('JUPYTERHUB_API_TOKEN');
  const hub = new HubApi(need('JUPYTERHUB_API_URL'), token);
  const serviceUrl = new URL(need('JUPYTERHUB_SERVICE_URL'));
  const prefix = env.JUPYTERHUB_SERVICE_PREFIX ?? '/services/nbferry/';
  const stores = new UserStores(options.storeRoot);
  await stores.check();
  let app: FastifyInstance | undefined;
  const appLogger = options.logger ?? true;
  // The suspender logs through the API's logger (one stream of JSON lines).
  let suspender!: Suspender;
  app = buildServiceApi({
    get suspender() {
      return suspender;
    },
    hub,
    token,
    prefix,
    logger: appLogger,
  });
  suspender = new Suspender({
    hub,
    publicUrl: options.publicUrl,
    token,
    stores,
    idleTimeoutMs: options.idleTimeoutSeconds * 1000,
    warnMs: options.warnSeconds === undefined ? undefined : options.warnSeconds * 1000,
    pollMs: options.pollSeconds === undefined ? undefined : options.pollSeconds * 1000,
    timeoutMs: options.timeoutMs,
    memoryPolicy: options.memoryPolicy,
    log: app.log,
  });
  const host = serviceUrl.hostname.replace(/^\[|\]$/g, '');
  const port = Number(serviceUrl.port || (serviceUrl.protocol === 'https:' ? 443 : 80));
  await app.listen({ host, port });
  suspender.start();
  app.log.info({ prefix, publicUrl: options.publicUrl, storeRoot: options.storeRoot, idleTimeoutSeconds: options.idleTimeoutSeconds }, 'nbferry hub service started');
  return {
    url: `${serviceUrl.origin}${prefix}`,
    app,
    suspender,
    async close() {
      await suspender.stop();
      await app!.close();
      stores.close();
    },
  };
}
