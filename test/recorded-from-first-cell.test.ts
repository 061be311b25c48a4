// Issue 15, "recorded from the first cell": a kernel started from the kernelspec that
// `python -m nbferry_shim.kernel_install` writes records every cell from the first, whoever runs it,
// so a coordinator attaching late finds the installed shim (nothing injected) and can move a kernel
// holding a generator. The same cells in a plain kernel attached late cannot be moved.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { launchKernel, type Kernel } from '@nbferry/kernel';
import { checkpoint, CheckpointLossError, restoreToNewKernel } from '@nbferry/migrate';
import { InstalledShimVersionError, Recorder } from '@nbferry/recorder';
import { LocalStore } from '@nbferry/store';
import { runCell, valueOf } from './support/kernel-sandbox.js';
import { repoRoot, testPython } from './support/python.js';

// The import path a `pip install nbferry_shim` gives the kernels' Python (installing into the shared
// test venv is not allowed here; a clean-venv pip install is checked by hand, see docs/operators.md).
const shimOnPath = { PYTHONPATH: join(repoRoot, 'python-shim', 'src') };

// Cells a user runs from a frontend before any coordinator attaches: one holds a live generator.
const CELLS = ['data = list(range(10))', 'evens = (x for x in data if x % 2 == 0)', 'first = next(evens)', 'total = sum(data)'];

describe('a kernel started from the nbferry kernelspec', () => {
  let dir = '';
  const kernels: Kernel[] = [];
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'nbferry-first-cell-'));
  });
  afterEach(async () => {
    for (const kernel of kernels.splice(0)) await kernel.dispose().catch(() => {});
    await rm(dir, { recursive: true, force: true });
  });

  async function installKernelSpec(): Promise<string> {
    const prefix = join(dir, 'prefix');
    await promisify(execFile)(testPython(), ['-m', 'nbferry_shim.kernel_install', '--name', 'nbferry-test', '--prefix', prefix], {
      env: { ...process.env, ...shimOnPath },
    });
    return join(prefix, 'share', 'jupyter');
  }

  async function launch(options: { kernelSpecPath?: string } = {}): Promise<Kernel> {
    const kernel = options.kernelSpecPath
      ? await launchKernel({ kernelName: 'nbferry-test', kernelSpecPaths: [options.kernelSpecPath], python: testPython(), env: shimOnPath, cwd: dir })
      : await launchKernel({ python: testPython(), cwd: dir });
    kernels.push(kernel);
    return kernel;
  }

  it('writes a kernel.json that runs the shim launcher', async () => {
    const dataPath = await installKernelSpec();
    const spec = JSON.parse(await readFile(join(dataPath, 'kernels', 'nbferry-test', 'kernel.json'), 'utf8')) as { argv: string[] };
    expect(spec.argv.slice(1)).toEqual(['-m', 'nbferry_shim.launch', '-f', '{connection_file}']);
  });

  it('records cells run before any coordinator attaches; a late coordinator moves a kernel holding a generator, nothing of unknown provenance', async () => {
    const source = await launch({ kernelSpecPath: await installKernelSpec() });
    for (const code of CELLS) await runCell(source.client, code);
    const status = JSON.parse((await valueOf(source.client, "__import__('sys').modules['nbferry_shim'].status()")) ?? '{}') as Record<string, unknown>;
    expect(status).toMatchObject({ attached: true, origin: 'installed', lastSeq: CELLS.length });

    const recorder = await Recorder.attach(source.client);
    expect(recorder.shimOrigin).toBe('installed');
    expect(recorder.injectedByAttach).toBe(false);
    expect(recorder.hello.unknownProvenance).toEqual([]);
    expect(recorder.graph.executions.filter((r) => r.kind === 'cell').map((r) => r.code)).toEqual(CELLS);

    const store = new LocalStore(join(dir, 'store'));
    const saved = await checkpoint(recorder, store, { refuseLoss: true });
    const { kernel: target, report } = await restoreToNewKernel(saved.checkpoint, { python: testPython(), cwd: dir });
    kernels.push(target);
    expect(report.verification.ok).toBe(true);
    expect(await valueOf(target.client, 'next(evens)')).toBe('2');
    expect(await valueOf(target.client, '(first, total)')).toBe('(0, 45)');
  });

  it('a plain kernel with the same cells, attached late, cannot be moved: its generator is of unknown provenance', async () => {
    const source = await launch();
    for (const code of CELLS) await runCell(source.client, code);
    const recorder = await Recorder.attach(source.client);
    expect(recorder.shimOrigin).toBe('injected');
    expect(recorder.injectedByAttach).toBe(true);
    // A second coordinator finds the shim there: the kernel was recorded before it came.
    expect((await Recorder.attach(source.client)).injectedByAttach).toBe(false);
    expect(recorder.hello.unknownProvenance).toContain('evens');
    const error = await checkpoint(recorder, new LocalStore(join(dir, 'store')), { refuseLoss: true }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CheckpointLossError);
  });

  it('refuses to replace an installed shim of another version (its history would be lost), unless told to', async () => {
    const source = await launch({ kernelSpecPath: await installKernelSpec() });
    await runCell(source.client, 'x = 1');
    // Stands in for an older nbferry_shim pip-installed in the kernels' image.
    await source.client.execute("import sys; sys.modules['nbferry_shim'].VERSION = sys.modules['nbferry_shim.runtime'].VERSION = '0.0.1'", { silent: true });
    const error = await Recorder.attach(source.client).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InstalledShimVersionError);
    expect((error as InstalledShimVersionError).code).toBe('SHIM_INSTALLED_VERSION_MISMATCH');
    const replaced = await Recorder.attach(source.client, { replaceInstalledShim: true });
    expect(replaced.shimOrigin).toBe('injected');
    expect(replaced.injectedByAttach).toBe(false);
    expect(replaced.hello.unknownProvenance).toContain('x');
  });
});
