// A connection file's key never appears in an error: not from a malformed file, not from a kernel
// that prints it while failing to start.
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConnectionFileError, KernelStartError } from './errors.js';
import { attachKernel, launchKernel } from './launch.js';

/** Everything an error would show: message, stack, own properties and its causes. */
function everything(error: unknown): string {
  const parts: string[] = [];
  for (let e: unknown = error; e; e = (e as { cause?: unknown }).cause) {
    parts.push(String(e), (e as Error).stack ?? '', JSON.stringify(e));
  }
  return parts.join('\n');
}

describe('connection-file keys stay secret', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'nbf-secret-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('a malformed connection file is reported without quoting its key', async () => {
    const key = 'd3adb33f-5ecr3t-k3y-0123456789ab';
    const path = join(dir, 'kernel.json');
    // Unquoted key: V8's JSON error would quote the text around it.
    await writeFile(path, `{"shell_port": 1, "key": ${key}", "ip": "127.0.0.1"}`);
    const error = await attachKernel(path).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConnectionFileError);
    expect((error as Error).message).toMatch(/not valid JSON/);
    expect(everything(error)).not.toContain(key);
    expect(everything(error)).not.toContain('5ecr3t');
  });

  it('a kernel that prints its connection file while failing to start is reported with the key masked', async () => {
    const copy = join(dir, 'seen.json');
    const fake = join(dir, 'python');
    // Stands in for python: shows the connection file (argv: -m ipykernel_launcher -f FILE) and fails.
    await writeFile(fake, `#!/bin/sh\ncp "$4" ${JSON.stringify(copy)}\ncat "$4" >&2\nexit 3\n`);
    await chmod(fake, 0o755);
    const error = await launchKernel({ python: fake, timeoutMs: 20_000 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(KernelStartError);
    const { key } = JSON.parse(await readFile(copy, 'utf8')) as { key: string };
    expect(key.length).toBeGreaterThan(8);
    expect((error as KernelStartError).stderrTail).toContain('"key": "***"');
    expect(everything(error)).not.toContain(key);
  });
});
