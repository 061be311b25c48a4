// Launching, attaching, shutting down and losing real kernels.
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, statSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { pidAlive, waitUntil } from '../../../test/support/processes.js';
import { repoRoot, testPython } from '../../../test/support/python.js';
import type { CommMessage } from './comm.js';
import { createConnectionFile } from './connection.js';
import { KernelDiedError, KernelStartError, KernelStartTimeoutError, KernelUnreachableError } from './errors.js';
import { attachKernel, launchKernel } from './launch.js';

const ECHO_TARGET = `
import comm, hashlib
def _echo_target(c, open_msg):
    @c.on_msg
    def _recv(msg):
        data = b"".join(bytes(b) for b in msg["buffers"])
        c.send({"received": len(data), "sha256": hashlib.sha256(data).hexdigest()},
               buffers=[bytes(range(256)) * (msg["content"]["data"]["reply_bytes"] // 256)])
comm.get_comm_manager().register_target("echo", _echo_target)
`;

describe('launching', () => {
  it('carries 10 MiB of comm buffers each way intact', async () => {
    const kernel = await launchKernel({ python: testPython() });
    try {
      expect((await kernel.client.execute(ECHO_TARGET)).status).toBe('ok');
      const comm = await kernel.client.openComm('echo');
      const replies: CommMessage[] = [];
      comm.events.on('message', (m) => replies.push(m));
      const payload = randomBytes(10 * 1024 * 1024);
      await comm.send({ reply_bytes: 10 * 1024 * 1024 }, [payload]);
      expect(replies).toHaveLength(1);
      expect(replies[0]!.data).toEqual({
        received: payload.length,
        sha256: createHash('sha256').update(payload).digest('hex'),
      });
      const back = replies[0]!.buffers[0]!;
      expect(back.byteLength).toBe(10 * 1024 * 1024);
      expect(back[255]).toBe(255);
      expect(back[256]).toBe(0);
      expect(back[back.byteLength - 1]).toBe(255);
    } finally {
      await kernel.dispose();
    }
  });

  it('shuts down leaving no process and no connection files behind', async () => {
    const kernel = await launchKernel({ python: testPython() });
    const pid = kernel.client.process!.pid!;
    const dir = dirname(kernel.connectionFile);
    expect(pidAlive(pid)).toBe(true);
    expect((await readdir(dir)).length).toBeGreaterThan(1); // kernel.json + ipc sockets
    await kernel.dispose();
    expect(await waitUntil(() => !pidAlive(pid), 5000)).toBe(true);
    expect(existsSync(dir)).toBe(false);
    await expect(kernel.client.execute('1')).rejects.toThrow(/closed/);
  });

  it('writes the connection file with mode 0600 and starts in the requested cwd', async () => {
    const kernel = await launchKernel({ python: testPython(), cwd: repoRoot });
    try {
      expect(statSync(kernel.connectionFile).mode & 0o777).toBe(0o600);
      const result = await kernel.client.execute('import os; print(os.getcwd())');
      expect(result.stdout.trim()).toBe(repoRoot.replace(/\/$/, ''));
    } finally {
      await kernel.dispose();
    }
  });

  it('works over tcp with CurveZMQ encryption', async () => {
    const kernel = await launchKernel({ python: testPython(), transport: 'tcp', curve: true });
    try {
      expect(kernel.connection.transport).toBe('tcp');
      expect(kernel.connection.curve_publickey).toHaveLength(40);
      expect((await kernel.client.execute('print(2**10)')).stdout).toBe('1024\n');
    } finally {
      await kernel.dispose();
    }
  });

  it('launches from a kernelspec name', async () => {
    const kernel = await launchKernel({
      kernelName: 'python3',
      kernelSpecPaths: [join(dirname(dirname(testPython())), 'share', 'jupyter')],
    });
    try {
      expect((await kernel.client.execute('import sys; print(sys.prefix)')).stdout.trim()).toBe(dirname(dirname(testPython())));
    } finally {
      await kernel.dispose();
    }
  });

  it('fails fast with the stderr tail when the interpreter has no ipykernel', async () => {
    const error = await launchKernel({ python: 'python3', env: { PYTHONPATH: '', PYTHONNOUSERSITE: '1' }, timeoutMs: 30_000 }).catch(
      (e: unknown) => e,
    );
    // python3 here is the system interpreter, not the venv: ipykernel_launcher is missing.
    expect(error).toBeInstanceOf(KernelStartError);
    expect((error as KernelStartError).exitCode).toBe(1);
    expect((error as KernelStartError).stderrTail).toMatch(/No module named ipykernel_launcher/);
  });

  it('gives a typed timeout and kills the process when the kernel never answers', async () => {
    // A kernelspec whose "kernel" starts, records its pid, and never opens a socket.
    const specRoot = await mkdtemp(join(tmpdir(), 'nbf-spec-'));
    const pidFile = join(specRoot, 'pid');
    await mkdir(join(specRoot, 'kernels', 'sleeper'), { recursive: true });
    const code = `import os, time; open(${JSON.stringify(pidFile)}, "w").write(str(os.getpid())); print("sleeping", flush=True); time.sleep(120)`;
    await writeFile(
      join(specRoot, 'kernels', 'sleeper', 'kernel.json'),
      JSON.stringify({ argv: [testPython(), '-c', code, '{connection_file}'], display_name: 'sleeper', language: 'python' }),
    );
    try {
      const error = await launchKernel({ kernelName: 'sleeper', kernelSpecPaths: [specRoot], timeoutMs: 1500 }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(KernelStartTimeoutError);
      expect((error as KernelStartTimeoutError).stderrTail).toContain('sleeping');
      const pid = Number(await readFile(pidFile, 'utf8'));
      expect(await waitUntil(() => !pidAlive(pid), 5000)).toBe(true);
    } finally {
      await rm(specRoot, { recursive: true, force: true });
    }
  });
});

describe('attaching', () => {
  it('attaches to a kernel started by someone else and sees it die through the heartbeat', async () => {
    const { path, dir } = await createConnectionFile({ transport: 'tcp' });
    // Started the way a Jupyter server starts kernels: its own process, its own connection file.
    const child = spawn(testPython(), ['-m', 'ipykernel_launcher', '-f', path], { stdio: 'ignore', detached: true });
    try {
      const kernel = await attachKernel(path, { timeoutMs: 30_000, heartbeat: { intervalMs: 200, timeoutMs: 1500 } });
      expect((await kernel.client.execute('import os; print(os.getpid())')).stdout.trim()).toBe(String(child.pid));
      const pending = kernel.client.execute('import time; time.sleep(60)');
      await new Promise((resolve) => setTimeout(resolve, 200));
      const killedAt = Date.now();
      child.kill('SIGKILL');
      const error = await pending.catch((e: unknown) => e);
      expect(error).toBeInstanceOf(KernelDiedError);
      expect((error as KernelDiedError).message).toMatch(/no heartbeat/);
      // Generous bound: loaded CI machines. The configured timeout is 1.5 s.
      expect(Date.now() - killedAt).toBeLessThan(10_000);
      await kernel.dispose();
    } finally {
      child.kill('SIGKILL');
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('detaching leaves the kernel running for its owner', async () => {
    const owner = await launchKernel({ python: testPython() });
    try {
      await owner.client.execute('shared = 41');
      const guest = await attachKernel(owner.connectionFile);
      expect((await guest.client.execute('shared + 1')).outputs[0]).toMatchObject({ data: { 'text/plain': '42' } });
      await guest.dispose();
      expect((await owner.client.execute('shared')).status).toBe('ok');
    } finally {
      await owner.dispose();
    }
  });

  it('reports a connection file with no kernel behind it', async () => {
    const { path, dir } = await createConnectionFile({ transport: 'tcp' });
    try {
      await expect(attachKernel(path, { timeoutMs: 1000 })).rejects.toBeInstanceOf(KernelUnreachableError);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

