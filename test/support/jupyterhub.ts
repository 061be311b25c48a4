/**
 * Test harness: a real JupyterHub on 127.0.0.1 (free ports for the proxy, the Hub, the proxy's API
 * and the nbferry service), configured by a jupyterhub_config.py as an operator would write it:
 * configurable-http-proxy (npm), SimpleLocalProcessSpawner (each user's home under the scratch
 * directory), DummyAuthenticator with a password, named servers with a "profile" spawner option,
 * user servers whose default kernelspec is nbferry's (recording from the first cell), and
 * `nbferry hub-service` as a managed service. A second service, "test-admin", gives the test a token
 * (admin:users, admin:servers, access:servers, tokens). Stopped by PID (the Hub stops its proxy, service and
 * user servers on SIGTERM; anything left is killed).
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { pidAlive } from './processes.js';
import { repoRoot, testPython } from './python.js';

export interface HubOptions {
  idleTimeoutSeconds: number;
  warnSeconds: number;
  pollSeconds: number;
  /** Extra `nbferry hub-service` options (right-sizing). */
  serviceArgs?: string[];
  /** Extra environment of the user servers (and so their kernels). */
  serverEnv?: Record<string, string>;
  /** `--stores` of the service (default: a directory in the scratch directory), e.g. `s3://bucket/prefix`. */
  stores?: string;
  /** Extra environment of the service (e.g. the object store's AWS_* variables). */
  serviceEnv?: Record<string, string>;
}

export interface Hub {
  publicUrl: string;
  apiUrl: string;
  serviceUrl: string;
  adminToken: string;
  password: string;
  scratch: string;
  storeRoot: string;
  homes: string;
  output(): string;
  /** GET/POST/DELETE on the Hub API with the admin token. */
  api<T>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }>;
  startServer(user: string, serverName?: string, userOptions?: Record<string, unknown>): Promise<{ url: string }>;
  serverUrl(user: string, serverName?: string): string;
  stop(): Promise<void>;
}

export const USERS = ['alice', 'bob'];

const running = new Set<ChildProcess>();

export async function startHub(options: HubOptions): Promise<Hub> {
  const scratch = await mkdtemp(join(tmpdir(), 'nbf-hub-'));
  const homes = join(scratch, 'homes');
  const storeRoot = join(scratch, 'stores');
  const kernelPrefix = join(scratch, 'kernels');
  for (const user of USERS) await mkdir(join(homes, user), { recursive: true });
  // The nbferry kernelspec, as an operator installs it in the image (the shim from this checkout).
  const shimOnPath = join(repoRoot, 'python-shim', 'src');
  await promisify(execFile)(testPython(), ['-m', 'nbferry_shim.kernel_install', '--name', 'nbferry', '--prefix', kernelPrefix], {
    env: { ...process.env, PYTHONPATH: shimOnPath },
  });
  const [port, hubPort, proxyApiPort, servicePort] = await freePorts(4);
  const adminToken = randomBytes(16).toString('hex');
  const password = randomBytes(8).toString('hex');
  const publicUrl = `http://127.0.0.1:${port}/`;
  const nbferry = [
    process.execPath,
    '--import',
    'tsx',
    '--conditions=source',
    join(repoRoot, 'packages/cli/src/main.ts'),
    'hub-service',
    '--stores',
    options.stores ?? storeRoot,
    '--public-url',
    publicUrl,
    '--idle-timeout',
    String(options.idleTimeoutSeconds),
    '--warn',
    String(options.warnSeconds),
    '--poll',
    String(options.pollSeconds),
    ...(options.serviceArgs ?? []),
  ];
  const config = `
# jupyterhub_config.py for nbferry's hub tests, written as an operator would.
import os
c = get_config()  # noqa
c.JupyterHub.ip = '127.0.0.1'
c.JupyterHub.port = ${port}
c.JupyterHub.hub_ip = '127.0.0.1'
c.JupyterHub.hub_port = ${hubPort}
c.ConfigurableHTTPProxy.api_url = 'http://127.0.0.1:${proxyApiPort}'
c.ConfigurableHTTPProxy.command = [${JSON.stringify(join(repoRoot, 'node_modules/.bin/configurable-http-proxy'))}]
c.ConfigurableHTTPProxy.pid_file = ${JSON.stringify(join(scratch, 'proxy.pid'))}
c.JupyterHub.db_url = 'sqlite:///${join(scratch, 'hub.sqlite')}'
c.JupyterHub.cookie_secret_file = ${JSON.stringify(join(scratch, 'cookie_secret'))}
c.JupyterHub.authenticator_class = 'dummy'
c.DummyAuthenticator.password = ${JSON.stringify(password)}
c.Authenticator.allowed_users = set(${JSON.stringify(USERS)})
c.JupyterHub.spawner_class = 'simple'
c.SimpleLocalProcessSpawner.home_dir_template = ${JSON.stringify(join(homes, '{username}'))}
c.Spawner.cmd = [${JSON.stringify(join(repoRoot, '.venv/bin/jupyterhub-singleuser'))}]
c.Spawner.args = ['--MappingKernelManager.default_kernel_name=nbferry', '--allow-root']
c.Spawner.start_timeout = 60
c.Spawner.http_timeout = 60
c.Spawner.environment = {
    # the nbferry kernelspec and shim, as installed in the image
    'JUPYTER_PATH': ${JSON.stringify(join(kernelPrefix, 'share', 'jupyter'))},
    'PYTHONPATH': ${JSON.stringify(shimOnPath)},
    # test only: the test's frontend (@jupyterlab/services in Node) sends its token in the websocket
    # URL without the Sec-Fetch-Mode header a browser adds (nbferry itself sends a header)
    'JUPYTERHUB_ALLOW_TOKEN_IN_URL': '1',
    **${JSON.stringify(options.serverEnv ?? {})},
}

# Named servers with profiles ("bigger machine"): the spawner option "profile" picks one.
c.JupyterHub.allow_named_servers = True
PROFILES = {'default': {'mem_limit': '1G'}, 'big': {'mem_limit': '4G'}}
def apply_profile(spawner):
    profile = spawner.user_options.get('profile', 'default')
    spawner.mem_limit = PROFILES[profile]['mem_limit']
    spawner.environment['NBFERRY_PROFILE'] = profile
c.Spawner.pre_spawn_hook = apply_profile

# nbferry: suspend instead of cull.
c.JupyterHub.services = [
    {
        'name': 'nbferry',
        'url': 'http://127.0.0.1:${servicePort}',
        'command': ${JSON.stringify(nbferry)},
        'cwd': ${JSON.stringify(repoRoot)},
        'environment': {'NBFERRY_PYTHON': ${JSON.stringify(testPython())}, **${JSON.stringify(options.serviceEnv ?? {})}},
    },
    {'name': 'test-admin', 'api_token': ${JSON.stringify(adminToken)}},
]
c.JupyterHub.load_roles = [
    {
        'name': 'nbferry',
        'services': ['nbferry'],
        'scopes': ['list:users', 'read:users:activity', 'read:servers', 'admin:servers', 'access:servers'],
    },
    {'name': 'test-admin', 'services': ['test-admin'], 'scopes': ['admin:users', 'admin:servers', 'access:servers', 'tokens']},
]
`;
  const configFile = join(scratch, 'jupyterhub_config.py');
  await writeFile(configFile, config);
  const child = spawn(join(repoRoot, '.venv/bin/jupyterhub'), ['-f', configFile], {
    cwd: scratch,
    env: { ...process.env, PATH: `${join(repoRoot, '.venv/bin')}:${process.env.PATH}` },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: false,
  });
  running.add(child);
  process.once('exit', () => {
    for (const c of running) if (c.pid && pidAlive(c.pid)) c.kill('SIGKILL');
  });
  let output = '';
  const collect = (chunk: Buffer) => {
    output = (output + chunk.toString('utf8')).slice(-200_000);
  };
  child.stdout!.on('data', collect);
  child.stderr!.on('data', collect);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.once('exit', () => running.delete(child));
  const apiUrl = `${publicUrl}hub/api/`;

  const api = async <T>(method: string, path: string, body?: unknown) => {
    const response = await fetch(`${apiUrl}${path}`, {
      method,
      headers: { Authorization: `token ${adminToken}`, ...(body === undefined ? {} : { 'Content-Type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    return { status: response.status, body: (text ? JSON.parse(text) : undefined) as T };
  };
  const serverPath = (user: string, serverName = '') => (serverName === '' ? `users/${user}/server` : `users/${user}/servers/${serverName}`);
  const serverUrl = (user: string, serverName = '') => `${publicUrl}user/${user}/${serverName === '' ? '' : `${serverName}/`}`;

  const stop = async () => {
    // For a failure's post-mortem: NBFERRY_HUB_LOG=file keeps the Hub's log (its servers' and the service's too).
    if (process.env.NBFERRY_HUB_LOG) await writeFile(process.env.NBFERRY_HUB_LOG, output).catch(() => {});
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
      await exited;
      clearTimeout(timer);
    }
    // Anything the Hub left (it stops user servers, its service and proxy on shutdown).
    await killLeftovers(scratch);
    await rm(scratch, { recursive: true, force: true });
  };

  const deadline = Date.now() + 90_000;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      await stop();
      throw new Error(`jupyterhub exited during start-up (code ${child.exitCode}):\n${output.slice(-6000)}`);
    }
    const ok = await fetch(`${apiUrl}`, { signal: AbortSignal.timeout(2000) }).then((r) => r.ok, () => false);
    const service = ok && (await fetch(`${publicUrl}services/nbferry/health`, { signal: AbortSignal.timeout(2000) }).then((r) => r.ok, () => false));
    if (service) break;
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`jupyterhub (with the nbferry service) not up within 90 s:\n${output.slice(-6000)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  for (const user of USERS) await api('POST', 'users', { usernames: [user] }).catch(() => {});

  return {
    publicUrl,
    apiUrl,
    serviceUrl: `${publicUrl}services/nbferry/`,
    adminToken,
    password,
    scratch,
    storeRoot,
    homes,
    output: () => output,
    api,
    serverUrl,
    async startServer(user, serverName = '', userOptions = {}) {
      const started = await api('POST', serverPath(user, serverName), userOptions);
      if (started.status !== 201 && started.status !== 202) throw new Error(`starting ${user}/${serverName}: HTTP ${started.status} ${JSON.stringify(started.body)}\n${output.slice(-6000)}`);
      const until = Date.now() + 90_000;
      for (;;) {
        const { body } = await api<{ servers: Record<string, { ready: boolean; url: string }> }>('GET', `users/${user}`);
        const server = body.servers?.[serverName];
        if (server?.ready) {
          // Ready at the Hub; answering through the proxy too (what a user's browser needs).
          const url = `${publicUrl}${server.url.replace(/^\//, '')}`;
          // (Until the proxy has its route, the Hub answers that path itself: a redirect or its own page.)
          const answers = await fetch(`${url}api/status`, { headers: { Authorization: `token ${adminToken}` }, redirect: 'manual' }).then(
            async (r) => r.status === 200 && typeof ((await r.json().catch(() => ({}))) as { started?: unknown }).started === 'string',
            () => false,
          );
          if (answers) return { url };
        }
        if (Date.now() > until) throw new Error(`${user}/${serverName} not ready in 90 s:\n${output.slice(-4000)}`);
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
    },
    stop,
  };
}

async function killLeftovers(scratch: string): Promise<void> {
  // User servers and kernels run with their cwd or arguments under the scratch directory.
  const { stdout } = await promisify(execFile)('ps', ['-eo', 'pid=,args=']).catch(() => ({ stdout: '' }));
  for (const line of stdout.split('\n')) {
    const match = /^\s*(\d+)\s+(.*)$/.exec(line);
    if (match && match[2]!.includes(scratch) && Number(match[1]) !== process.pid) {
      try {
        process.kill(Number(match[1]), 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }
}

async function freePorts(count: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from({ length: count }, () => new Promise<ReturnType<typeof createServer>>((resolve, reject) => {
      const probe = createServer();
      probe.once('error', reject);
      probe.listen(0, '127.0.0.1', () => resolve(probe));
    })),
  );
  const ports = servers.map((s) => (s.address() as { port: number }).port);
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  return ports;
}
