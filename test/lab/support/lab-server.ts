/**
 * A real `jupyter lab` for the browser tests, as a user of the pip-installed extension would have it:
 * on 127.0.0.1 (a free port), with a token, its own root directory, HOME, runtime and config dirs;
 * the nbferry kernelspec (`python -m nbferry_shim.kernel_install`: recorded from the first cell);
 * the server extension loaded from this checkout (PYTHONPATH + jpserver_extensions) and the prebuilt
 * labextension found through JUPYTER_PATH; `nbferry serve` run from this checkout's sources. Nothing
 * is installed into the shared venv. `stop()` ends jupyter by its PID (it stops its kernels and the
 * extension stops the service), then anything left of its process group.
 */
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { repoRoot, testPython } from '../../support/python.js';

export const labextensionDir = join(repoRoot, 'packages/jupyterlab/nbferry_jupyterlab/labextension');

export interface LabServer {
  url: string;
  token: string;
  root: string;
  dir: string;
  /** What jupyter printed (its log), for a failing test's message. */
  log(): string;
  /** A Jupyter REST call with the token. */
  api<T = unknown>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }>;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

/** The nbferry command from this checkout's TypeScript sources (no build needed), as test/support/cli.ts runs it. */
function nbferryCommand(): string[] {
  const tsxLoader = pathToFileURL(join(repoRoot, 'node_modules/tsx/dist/loader.mjs')).href;
  return [process.execPath, '--conditions=source', '--import', tsxLoader, join(repoRoot, 'packages/cli/src/main.ts')];
}

export async function startLab(options: { autoCheckpointIdleMs?: number; extensionConfig?: Record<string, unknown> } = {}): Promise<LabServer> {
  if (!existsSync(join(labextensionDir, 'package.json'))) {
    throw new Error(`the labextension is not built (${labextensionDir}): run scripts/setup.sh or npm run build:labextension -w @nbferry/jupyterlab`);
  }
  const dir = await mkdtemp(join(tmpdir(), 'nbferry-lab-'));
  const [home, root, runtime, config, data] = ['home', 'root', 'runtime', 'config', 'data'].map((d) => join(dir, d)) as [string, string, string, string, string];
  for (const d of [home, root, runtime, config, data]) await mkdir(d, { recursive: true });
  const python = testPython();
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    HOME: home,
    JUPYTER_RUNTIME_DIR: runtime,
    JUPYTER_CONFIG_DIR: config,
    JUPYTER_DATA_DIR: data,
    // The kernelspec is installed under prefix/ (below), as `--prefix` puts it.
    JUPYTER_PATH: `${data}:${join(dir, 'prefix/share/jupyter')}`,
    // The shim (for the kernelspec's kernels) and the server extension, from this checkout.
    PYTHONPATH: [join(repoRoot, 'python-shim/src'), join(repoRoot, 'packages/jupyterlab'), process.env.PYTHONPATH].filter(Boolean).join(':'),
    PATH: `${join(repoRoot, '.venv/bin')}:${process.env.PATH ?? ''}`,
  };
  // The kernelspec that records from the first cell (docs/operators.md), in this server's data dir.
  await promisify(execFile)(python, ['-m', 'nbferry_shim.kernel_install', '--name', 'nbferry', '--display-name', 'Python 3 (nbferry)', '--prefix', join(dir, 'prefix')], { env });
  // The prebuilt labextension where a pip install puts it (share/jupyter/labextensions/@nbferry/jupyterlab).
  await mkdir(join(data, 'labextensions/@nbferry'), { recursive: true });
  await symlink(labextensionDir, join(data, 'labextensions/@nbferry/jupyterlab'));
  await writeFile(
    join(config, 'jupyter_server_config.json'),
    JSON.stringify({
      ServerApp: { jpserver_extensions: { nbferry_jupyterlab: true } },
      NbferryExtension: {
        command: nbferryCommand(),
        store_root: join(dir, 'stores'),
        kernel_python: python,
        ...(options.autoCheckpointIdleMs !== undefined ? { auto_checkpoint_idle_ms: options.autoCheckpointIdleMs } : {}),
        ...options.extensionConfig,
      },
      // No "build recommended" prompt, no news or update checks from the test browser.
      LabApp: { news_url: null, check_for_updates_class: 'jupyterlab.NeverCheckForUpdate' },
    }),
  );
  // No "get notified about Jupyter news?" toast over the screenshots.
  const settings = join(dir, 'settings/@jupyterlab/apputils-extension');
  await mkdir(settings, { recursive: true });
  await writeFile(join(settings, 'notification.jupyterlab-settings'), JSON.stringify({ fetchNews: 'false' }));
  env.JUPYTERLAB_SETTINGS_DIR = join(dir, 'settings');
  const port = await freePort();
  const token = `lab-test-${Math.random().toString(36).slice(2)}${Math.random().toString(36).slice(2)}`;
  const jupyter = join(repoRoot, '.venv/bin/jupyter');
  const args = ['lab', '--no-browser', '--ip=127.0.0.1', `--port=${port}`, `--IdentityProvider.token=${token}`, `--ServerApp.root_dir=${root}`, '--ServerApp.port_retries=0'];
  if (process.getuid?.() === 0) args.push('--allow-root'); // CI runs as root
  const child: ChildProcess = spawn(jupyter, args, { env, cwd: root, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = `http://127.0.0.1:${port}`;

  async function api<T>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }> {
    const response = await fetch(`${url}${path}`, {
      method,
      headers: { authorization: `token ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    return { status: response.status, body: (text ? JSON.parse(text) : undefined) as T };
  }

  async function stop(): Promise<void> {
    if (child.exitCode === null && child.pid !== undefined) {
      child.kill('SIGTERM'); // jupyter's own shutdown: kernels, then the extension's service
      await Promise.race([exited, sleep(20_000)]);
      if (child.exitCode === null) child.kill('SIGKILL');
    }
    // Whatever is left in its process group (a kernel it could not stop): by the group's id, its PID.
    try {
      if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
    } catch {
      // the group is gone
    }
    await rm(dir, { recursive: true, force: true });
  }

  const deadline = Date.now() + 90_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`jupyter lab exited (${child.exitCode}):\n${output.slice(-3000)}`);
    const ok = await fetch(`${url}/api/status`, { headers: { authorization: `token ${token}` } }).then((r) => r.ok, () => false);
    if (ok) break;
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`jupyter lab did not answer within 90 s:\n${output.slice(-3000)}`);
    }
    await sleep(250);
  }
  return { url, token, root, dir, log: () => output, api, stop };
}

/** A notebook file with these code cells, on the nbferry kernelspec (so it starts recorded). */
export async function writeNotebook(root: string, name: string, cells: string[]): Promise<void> {
  const notebook = {
    nbformat: 4,
    nbformat_minor: 5,
    metadata: { kernelspec: { name: 'nbferry', display_name: 'Python 3 (nbferry)', language: 'python' }, language_info: { name: 'python' } },
    cells: cells.map((source, i) => ({ cell_type: 'code', id: `cell-${i}`, metadata: {}, execution_count: null, outputs: [], source })),
  };
  await writeFile(join(root, name), JSON.stringify(notebook, null, 1));
}
