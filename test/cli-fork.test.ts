// nbferry fork on the command line, real kernels: N kernels left running with the source's state,
// each verified, one checkpoint in the store; bad input refused before anything starts.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { attachKernel } from '@nbferry/kernel';
import { nbferry } from './support/cli.js';
import { runCell, useKernelSandbox, valueOf } from './support/kernel-sandbox.js';
import { testPython } from './support/python.js';
import { assertDocument } from './support/schemas.js';

interface ForkDoc {
  ok: boolean;
  checkpoint: { id: string };
  children: { ok: boolean; connectionFile: string; totals: { restored: number; lost: number } }[];
}

describe('nbferry fork', () => {
  const sandbox = useKernelSandbox('nbf-cli-fork-');

  it('brings up --count kernels holding the running kernel\'s state, left running', async () => {
    const source = await sandbox.kernel();
    await runCell(source.client, 'import os\ntoken = os.urandom(8).hex()\nrows = [token] * 3');
    const store = join(sandbox.dir(), 'store');
    const result = await nbferry(['fork', store, '--connection-file', source.connectionFile, '--count', '2', '--python', testPython(), '--cwd', sandbox.dir(), '--json']);
    expect(result.code, result.stderr).toBe(0);
    const document = JSON.parse(result.stdout) as ForkDoc;
    assertDocument('fork', document);
    expect(document.ok).toBe(true);
    expect(document.children).toHaveLength(2);
    const token = await valueOf(source.client, 'token');
    for (const child of document.children) {
      expect(child.totals.lost).toBe(0);
      const kernel = await attachKernel(child.connectionFile);
      try {
        expect(await valueOf(kernel.client, 'rows[2]')).toBe(token);
        expect(await valueOf(kernel.client, '__import__("os").getcwd()')).toBe(`'${sandbox.dir()}'`);
      } finally {
        await kernel.client.shutdown();
        await kernel.detach();
      }
    }
    const logged = await nbferry(['log', store, '--json']);
    expect((JSON.parse(logged.stdout) as { checkpoints: { id: string }[] }).checkpoints.map((c) => c.id)).toEqual([document.checkpoint.id]);
    expect(await valueOf(source.client, 'token')).toBe(token); // the source keeps running, unchanged
  });

  it('refuses a count that is not a whole number ≥ 1, a missing kernel and a --cwd that is not a directory', async () => {
    const store = join(sandbox.dir(), 'store');
    const zero = await nbferry(['fork', store, '--connection-file', 'x.json', '--count', '0']);
    expect(zero.code).toBe(2);
    expect(zero.stderr).toMatch(/whole number of kernels/);
    const noKernel = await nbferry(['fork', store, '--count', '2']);
    expect(noKernel.code).toBe(2);
    expect(noKernel.stderr).toMatch(/--connection-file/);
    const source = await sandbox.kernel();
    const badCwd = await nbferry(['fork', store, '--connection-file', source.connectionFile, '--cwd', join(sandbox.dir(), 'missing')]);
    expect(badCwd.code).toBe(2);
    expect(badCwd.stderr).toMatch(/not a directory/);
  });
});
