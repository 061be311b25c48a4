// The environment a checkpoint records and a target is checked against (packages/migrate environment.ts).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchKernel, type Kernel } from '@nbferry/kernel';
import { kernelEnvironment } from '@nbferry/migrate';
import { repoRoot, testPython } from './support/python.js';

describe('kernelEnvironment', () => {
  let kernel: Kernel;
  beforeAll(async () => {
    kernel = await launchKernel({ python: testPython(), cwd: repoRoot });
  });
  afterAll(async () => {
    await kernel?.dispose();
  });

  it('gives versions of packages, and leaves the standard library to the Python version without scanning every distribution', async () => {
    // The full scan (packages_distributions) is only for a module with neither __version__ nor a
    // distribution of its name: make it fail, so that asking for it shows.
    await kernel.client.execute('import importlib.metadata as _m\n_m.packages_distributions = lambda: 1 / 0', { silent: true });
    const env = await kernelEnvironment(kernel.client, ['json', 'numpy', 'os', 'subprocess', 'sys']);
    expect(env.python).toMatch(/^3\.\d+\.\d+$/);
    expect(Object.keys(env.packages).sort()).toEqual(['json', 'numpy']); // json has a __version__
    expect(env.packages.numpy).toMatch(/^\d+\.\d+/);
    await expect(kernelEnvironment(kernel.client, ['no_such_module_here'])).rejects.toThrow(/ZeroDivisionError|division/);
  });
});
