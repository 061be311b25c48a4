/** Test harness: a scratch directory per test and kernels started in it, all gone after the test. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect } from 'vitest';
import { launchKernel, type Kernel, type KernelClient } from '@nbferry/kernel';
import { testPython } from './python.js';

export interface KernelSandbox {
  /** The current test's scratch directory (every kernel's cwd). */
  dir(): string;
  /** A fresh kernel in that directory (with `env` over the coordinator's environment), disposed after the test. */
  kernel(env?: Record<string, string | undefined>): Promise<Kernel>;
}

export function useKernelSandbox(prefix: string): KernelSandbox {
  let dir = '';
  const kernels: Kernel[] = [];
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), prefix));
  });
  afterEach(async () => {
    for (const kernel of kernels.splice(0)) await kernel.dispose().catch(() => {});
    await rm(dir, { recursive: true, force: true });
  });
  return {
    dir: () => dir,
    async kernel(env) {
      const kernel = await launchKernel({ python: testPython(), cwd: dir, ...(env ? { env } : {}) });
      kernels.push(kernel);
      return kernel;
    },
  };
}

/** Runs a cell as a frontend would and asserts it succeeded. */
export async function runCell(client: KernelClient, code: string): Promise<void> {
  const result = await client.execute(code);
  expect(result.status, code).toBe('ok');
}

/** An expression's text/plain in the kernel (silent, unrecorded), or undefined if it raised. */
export async function valueOf(client: KernelClient, expression: string): Promise<string | undefined> {
  const r = await client.execute('', { silent: true, userExpressions: { v: expression } });
  const v = r.userExpressions.v;
  return v?.status === 'ok' ? String(v.data['text/plain']) : undefined;
}
