// Issue 16 packaging: the wheel built from packages/jupyterlab (scripts/setup.sh builds it), installed
// with pip into a throwaway venv, gives both halves: JupyterLab lists the prebuilt labextension and
// Jupyter Server the enabled, importable server extension. The shared venv is never installed into:
// the throwaway one sees its packages (jupyterlab, jupyter_server) through a .pth file.
import { execFile } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot, testPython } from '../support/python.js';

const run = promisify(execFile);
const distDir = join(repoRoot, 'packages/jupyterlab/dist');

describe('pip install of nbferry-jupyterlab', () => {
  let dir = '';
  let python = '';
  const env = { ...process.env, PYTHONPATH: '', JUPYTER_CONFIG_DIR: '', JUPYTER_PATH: '', JUPYTER_DATA_DIR: '' };

  beforeAll(async () => {
    const wheel = existsSync(distDir) ? readdirSync(distDir).find((f) => f.endsWith('.whl')) : undefined;
    if (!wheel) throw new Error(`no wheel in ${distDir}: run scripts/setup.sh (it builds the labextension and the wheel)`);
    dir = await mkdtemp(join(tmpdir(), 'nbferry-pip-'));
    env.JUPYTER_CONFIG_DIR = join(dir, 'config');
    env.JUPYTER_DATA_DIR = join(dir, 'data');
    await run(testPython(), ['-m', 'venv', '--system-site-packages', join(dir, 'venv')]);
    python = join(dir, 'venv/bin/python');
    const { stdout: shared } = await run(testPython(), ['-c', 'import sysconfig; print(sysconfig.get_paths()["purelib"])']);
    const { stdout: own } = await run(python, ['-c', 'import sysconfig; print(sysconfig.get_paths()["purelib"])']);
    await writeFile(join(own.trim(), 'zz_shared_venv.pth'), `${shared.trim()}\n`);
    await run(python, ['-m', 'pip', 'install', '--quiet', '--no-deps', '--disable-pip-version-check', join(distDir, wheel)], { env });
  }, 180_000);
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('jupyter labextension list shows the prebuilt extension, installed by pip', async () => {
    const code = "import sys; from jupyterlab.labextensions import LabExtensionApp; sys.argv = ['jupyter-labextension', 'list']; LabExtensionApp.launch_instance()";
    const { stdout, stderr } = await run(python, ['-c', code], { env });
    const text = `${stdout}${stderr}`.replace(/\x1b\[[0-9;]*m/g, '');
    expect(text).toContain(join(dir, 'venv/share/jupyter/labextensions'));
    expect(text).toMatch(/@nbferry\/jupyterlab v0\.1\.0 enabled OK \(python, nbferry-jupyterlab\)/);
  });

  it('jupyter server extension list shows the server extension enabled by the wheel\'s config and importable', async () => {
    const code = "import sys; from jupyter_server.extension.serverextension import main; sys.argv = ['jupyter-server-extension', 'list']; main()";
    const { stdout, stderr } = await run(python, ['-c', code], { env });
    const text = `${stdout}${stderr}`.replace(/\x1b\[[0-9;]*m/g, '');
    expect(text).toContain(`Config dir: ${join(dir, 'venv/etc/jupyter')}`);
    expect(text).toMatch(/nbferry_jupyterlab enabled\s+- Validating nbferry_jupyterlab\.\.\.\s+nbferry_jupyterlab 0\.1\.0 OK/);
  });
});
