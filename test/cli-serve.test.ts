// `nbferry serve` on the command line: what it refuses before listening (exit 2, saying why), and a
// port already taken named as such.
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nbferry, spawnNbferry } from './support/cli.js';
import { pidAlive, waitUntil } from './support/processes.js';
import { parseExposition, sampleValue } from './support/prometheus.js';
import { testPython } from './support/python.js';

describe('nbferry serve', () => {
  let dir = '';
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'nbferry-cli-serve-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('needs --stores', async () => {
    const result = await nbferry(['serve']);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/needs --stores DIR/);
  });

  it('needs a token, from a private file or $NBFERRY_SERVICE_TOKEN', async () => {
    const stores = join(dir, 'stores');
    const none = await nbferry(['serve', '--stores', stores], { env: { NBFERRY_SERVICE_TOKEN: undefined } });
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/needs an API token: --token-file FILE/);

    const missing = await nbferry(['serve', '--stores', stores, '--token-file', join(dir, 'nope')]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/cannot read the token file .*nope.*ENOENT/);

    const open = join(dir, 'open-token');
    await writeFile(open, 'abc');
    await chmod(open, 0o644);
    const readable = await nbferry(['serve', '--stores', stores, '--token-file', open]);
    expect(readable.code).toBe(2);
    expect(readable.stderr).toMatch(/readable by others .*chmod 600/);
  });

  it('says so when the port is taken', async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as { port: number }).port;
    try {
      const result = await nbferry(['serve', '--stores', join(dir, 'stores'), '--port', String(port)], { env: { NBFERRY_SERVICE_TOKEN: 't' } });
      expect(result.code).toBe(2);
      expect(result.stderr).toMatch(/cannot listen on 127\.0\.0\.1:\d+: .*another process has that port/);
    } finally {
      blocker.close();
    }
  });

  it('rejects a bad --warm-kernels or --warm-modules value', async () => {
    const count = await nbferry(['serve', '--stores', join(dir, 'stores'), '--warm-kernels', '-1']);
    expect(count.code).toBe(2);
    expect(count.stderr).toMatch(/--warm-kernels .*whole number of kernels from 0/);
    const modules = await nbferry(['serve', '--stores', join(dir, 'stores'), '--warm-modules', 'numpy,os path']);
    expect(modules.code).toBe(2);
    expect(modules.stderr).toMatch(/"os path" is not a Python module name/);
  });

  it('keeps --warm-kernels kernels ready (the /metrics gauge) and shuts the idle one down when it stops', async () => {
    const token = 'warm-pool-token';
    const { child, output, exited } = spawnNbferry(
      ['serve', '--stores', join(dir, 'stores'), '--port', '0', '--python', testPython(), '--warm-kernels', '1', '--warm-modules', 'json'],
      { env: { NBFERRY_SERVICE_TOKEN: token } },
    );
    try {
      let url: string | undefined;
      expect(await waitUntil(() => (url = /listening at (http:\/\/127\.0\.0\.1:\d+)/i.exec(output.stdout)?.[1]) !== undefined, 30_000), output.stderr).toBe(true);
      const ready = async () => {
        const response = await fetch(`${url!}/metrics`, { headers: { authorization: `Bearer ${token}` } });
        return sampleValue(parseExposition(await response.text()), 'nbferry_warm_kernels_ready', {});
      };
      expect(await ready()).toBeGreaterThanOrEqual(0); // the gauge is there from the start
      const deadline = Date.now() + 60_000;
      while ((await ready()) !== 1 && Date.now() < deadline) await sleep(200);
      expect(await ready()).toBe(1);
      // The pooled kernel is the service's only ipykernel child: its pid is in its connection file's process list.
      const pooled = kernelPidsOf(child.pid!);
      expect(pooled).toHaveLength(1);
      child.kill('SIGTERM');
      expect((await exited).code).toBe(143);
      expect(await waitUntil(() => !pidAlive(pooled[0]!), 10_000), `the pooled kernel ${pooled[0]} still runs after the service stopped`).toBe(true);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });

  it('rejects a bad port', async () => {
    const result = await nbferry(['serve', '--stores', join(dir, 'stores'), '--port', '70000']);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/port number from 0 to 65535/);
  });
});

/** Pids of the ipykernel processes `parent` started (Linux /proc). */
function kernelPidsOf(parent: number): number[] {
  return readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .filter((pid) => {
      try {
        const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
        const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
        return ppid === parent && readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('ipykernel');
      } catch {
        return false; // gone meanwhile
      }
    })
    .map(Number);
}
