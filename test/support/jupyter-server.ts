/**
 * Test harness: a real `jupyter server` on 127.0.0.1, on a free port, with a token, its runtime,
 * data and config directories in a scratch directory (nothing written to $HOME), stopped by PID.
 * `tuned: true` selects nbferry's TCP_NODELAY websocket connection class.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KernelAPI, KernelConnection, ServerConnection } from '@jupyterlab/services';
import { ServerApi, type ServerInfo } from '@nbferry/jupyter-server';
import { pidAlive, waitUntil } from './processes.js';
import { repoRoot, testPython } from './python.js';

export const TUNING_DIR = `${repoRoot}packages/jupyter-server/python`;
export const TUNED_CONNECTION_CLASS = 'nbferry_server_tuning.NoDelayKernelWebsocketConnection';

export interface JupyterServerOptions {
  /** Select the TCP_NODELAY kernel websocket connection class. */
  tuned?: boolean;
  /** Extra command-line options, e.g. culling settings. */
  args?: string[];
  /** The server's root directory (default: a new scratch directory, removed on stop). */
  rootDir?: string;
}

export interface JupyterServer extends ServerInfo {
  pid: number;
  port: number;
  rootDir: string;
  api: ServerApi;
  /** Output so far (for failure messages). */
  output(): string;
  stop(): Promise<void>;
}

const running = new Set<ChildProcess>();
let exitHookInstalled = false;

export async function startJupyterServer(options: JupyterServerOptions = {}): Promise<JupyterServer> {
  const scratch = await mkdtemp(join(tmpdir(), 'nbf-jupyter-'));
  const rootDir = options.rootDir ?? join(scratch, 'root');
  await mkdir(rootDir, { recursive: true });
  const token = randomBytes(16).toString('hex');
  for (let attempt = 0; ; attempt++) {
    const port = await freePort();
    try {
      return await launch(port, token, rootDir, scratch, options);
    } catch (error) {
      // Another process may have taken the port between our probe and the server's bind.
      if (attempt >= 2 || !(error instanceof PortTakenError)) {
        await rm(scratch, { recursive: true, force: true });
        throw error;
      }
    }
  }
}

class PortTakenError extends Error {}

async function launch(port: number, token: string, rootDir: string, scratch: string, options: JupyterServerOptions): Promise<JupyterServer> {
  const args = [
    '-m',
    'jupyter_server',
    '--ServerApp.ip=127.0.0.1',
    `--ServerApp.port=${port}`,
    '--ServerApp.port_retries=0',
    `--IdentityProvider.token=${token}`,
    '--ServerApp.open_browser=False',
    `--ServerApp.root_dir=${rootDir}`,
    '--allow-root',
    ...(options.tuned ? [`--ServerApp.kernel_websocket_connection_class=${TUNED_CONNECTION_CLASS}`] : []),
    ...(options.args ?? []),
  ];
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    JUPYTER_RUNTIME_DIR: join(scratch, 'runtime'),
    JUPYTER_DATA_DIR: join(scratch, 'data'),
    JUPYTER_CONFIG_DIR: join(scratch, 'config'),
    JUPYTER_PLATFORM_DIRS: '1',
    PYTHONPATH: [TUNING_DIR, process.env.PYTHONPATH].filter(Boolean).join(':'),
  };
  const child = spawn(testPython(), args, { cwd: rootDir, env, stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(child);
  installExitHook();
  let output = '';
  const collect = (chunk: Buffer) => {
    output = (output + chunk.toString('utf8')).slice(-20_000);
  };
  child.stdout!.on('data', collect);
  child.stderr!.on('data', collect);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.once('exit', () => running.delete(child));

  const baseUrl = `http://127.0.0.1:${port}/`;
  const api = new ServerApi({ baseUrl, token });
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM'); // the server shuts its kernels down on SIGTERM
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    }
    await rm(scratch, { recursive: true, force: true });
  };

  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      await stop();
      if (/address already in use/i.test(output)) throw new PortTakenError(output);
      throw new Error(`jupyter server exited during start-up (code ${child.exitCode}):\n${output.slice(-4000)}`);
    }
    try {
      await api.status({ timeoutMs: 2000 });
      break;
    } catch {
      if (Date.now() > deadline) {
        await stop();
        throw new Error(`jupyter server did not answer within 60 s:\n${output.slice(-4000)}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  return { baseUrl, token, pid: child.pid!, port, rootDir, api, output: () => output, stop };
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      probe.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/** If a test run dies without stopping its servers, kill them rather than leave them behind. */
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const child of running) if (child.pid && pidAlive(child.pid)) child.kill('SIGKILL');
  });
}

/** Waits until the server no longer lists the kernel (culled or shut down). */
export async function waitKernelGone(api: ServerApi, kernelId: string, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!(await api.getKernel(kernelId))) return true;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return false;
}

export { waitUntil };

/**
 * A frontend-like client: what JupyterLab does with a notebook's kernel, through services with its
 * own defaults (comms handled by services, token appended to the websocket URL).
 */
export class Frontend {
  private constructor(readonly kernel: KernelConnection) {}

  static async open(server: ServerInfo, kernelId: string): Promise<Frontend> {
    const serverSettings = ServerConnection.makeSettings({ baseUrl: server.baseUrl, token: server.token });
    const model = await KernelAPI.getKernelModel(kernelId, serverSettings);
    if (!model) throw new Error(`no kernel ${kernelId}`);
    const kernel = new KernelConnection({ model, serverSettings });
    await kernel.info;
    return new Frontend(kernel);
  }

  /** Opens the kernel of the session at `path` (what a reopened notebook tab does). */
  static async openSession(server: ServerInfo, path: string): Promise<Frontend> {
    const session = await new ServerApi(server).findSessionByPath(path);
    if (!session?.kernel) throw new Error(`no session with a kernel at ${path} on ${server.baseUrl}`);
    return Frontend.open(server, session.kernel.id);
  }

  /** Runs a cell; returns its stdout, or throws with the error (or after `timeoutMs`). */
  async run(code: string, timeoutMs = 30_000): Promise<string> {
    let stdout = '';
    const future = this.kernel.requestExecute({ code, store_history: true });
    future.onIOPub = (msg) => {
      if (msg.header.msg_type === 'stream') stdout += (msg.content as { text: string }).text;
    };
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => reject(new Error(`frontend: no reply to ${JSON.stringify(code)} within ${timeoutMs} ms`)), timeoutMs);
    });
    const reply = await Promise.race([future.done, timeout]).finally(() => clearTimeout(timer));
    const content = reply.content as { status: string; ename?: string; evalue?: string };
    if (content.status !== 'ok') throw new Error(`cell failed: ${code}\n${content.ename}: ${content.evalue}`);
    return stdout;
  }

  get status(): string {
    return this.kernel.status;
  }

  close(): void {
    this.kernel.dispose();
  }
}
