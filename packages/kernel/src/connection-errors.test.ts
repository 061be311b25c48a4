// Bad connection files against real kernels: each gives a typed error that says what to do, fast,
// and leaves the kernel alive and untouched.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testPython } from '../../../test/support/python.js';
import { ConnectionFileError, KernelKeyMismatchError, KernelUnreachableError } from './errors.js';
import { attachKernel, launchKernel, type Kernel } from './launch.js';

let owner: Kernel;
let dir: string;

beforeAll(async () => {
  owner = await launchKernel({ python: testPython(), transport: 'tcp' });
  await owner.client.execute('precious = 42');
  dir = await mkdtemp(join(tmpdir(), 'nbf-conn-'));
});

afterAll(async () => {
  await owner?.dispose();
  await rm(dir, { recursive: true, force: true });
});

/** The owner's connection file with `edit` applied, written next to the test. */
async function editedConnectionFile(name: string, edit: (info: Record<string, unknown>) => void): Promise<string> {
  const info = JSON.parse(await readFile(owner.connectionFile, 'utf8')) as Record<string, unknown>;
  edit(info);
  const path = join(dir, name);
  await writeFile(path, JSON.stringify(info), { mode: 0o600 });
  return path;
}

async function expectOwnerUntouched(): Promise<void> {
  const result = await owner.client.execute('precious', { timeoutMs: 30_000 });
  expect(result.outputs[0]).toMatchObject({ data: { 'text/plain': '42' } });
}

describe('bad connection files', () => {
  it('an unknown signature_scheme is a ConnectionFileError naming the field, not a TypeError', async () => {
    const path = await editedConnectionFile('scheme.json', (info) => (info.signature_scheme = 'hmac-md4'));
    const error = await attachKernel(path, { timeoutMs: 5000 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConnectionFileError);
    expect((error as Error).message).toMatch(/signature_scheme "hmac-md4".*hmac-sha256/);
    await expectOwnerUntouched();
  });

  it('a wrong key is a KernelKeyMismatchError before the timeout, while the kernel lives on', async () => {
    const path = await editedConnectionFile('key.json', (info) => (info.key = 'not-the-kernels-key'));
    // A generous timeout: the error must come from the forged replies, not from giving up waiting.
    const error = await attachKernel(path, { timeoutMs: 60_000 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(KernelKeyMismatchError);
    expect((error as KernelKeyMismatchError).code).toBe('KERNEL_KEY_MISMATCH');
    expect((error as Error).message).not.toMatch(/died|state is gone/);
    expect((error as Error).message).not.toContain('not-the-kernels-key');
    await expectOwnerUntouched();
  });

  it('a kernel busy in a long silent cell is not taken for a key mismatch', async () => {
    const busy = owner.client.execute('import time; time.sleep(6)');
    await new Promise((resolve) => setTimeout(resolve, 300));
    const guest = await attachKernel(owner.connectionFile, { timeoutMs: 60_000 });
    await guest.dispose();
    expect((await busy).status).toBe('ok');
  });

  it('swapped ports give a KernelUnreachableError within the timeout, not "Socket is busy writing"', async () => {
    const path = await editedConnectionFile('swapped.json', (info) => {
      [info.shell_port, info.iopub_port] = [info.iopub_port, info.shell_port];
    });
    const error = await attachKernel(path, { timeoutMs: 3000 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(KernelUnreachableError);
    expect((error as Error).message).toMatch(/3000 ms.*connection file/);
    await expectOwnerUntouched();
  });

  it('two sockets on one port is a ConnectionFileError', async () => {
    const path = await editedConnectionFile('same-port.json', (info) => (info.control_port = info.shell_port));
    await expect(attachKernel(path, { timeoutMs: 5000 })).rejects.toBeInstanceOf(ConnectionFileError);
  });
});
