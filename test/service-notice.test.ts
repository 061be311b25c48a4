// Issue 15, preemption: a 10 s notice (POST /notice, or SIGTERM to `nbferry serve --grace 10`) on a
// node with a large kernel and a small one. The large one holds LARGE_MB of irreproducible bytes
// (os.urandom: it must be written, no rerun can remake it); scaled down from the issue's 1 GB to
// what this 2-core machine, shared with other test runs, writes well inside 10 s (256 MB took
// 6.1 s of the 10 under a load average of 9; 192 MB leaves room for a busier machine).
import { spawn } from 'node:child_process';
import { chmod, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { launchKernel, type Kernel } from '@nbferry/kernel';
import { startService, type NoticeReport, type RunningService } from '@nbferry/service';
import { runCell } from './support/kernel-sandbox.js';
import { repoRoot, testPython } from './support/python.js';
import { serviceRequest } from './support/service-api.js';

const TOKEN = 'notice-token-0123456789';
const LARGE_MB = 192;
const NOTICE_SECONDS = 10;

describe('preemption notice', () => {
  let dir = '';
  const kernels: Kernel[] = [];
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'nbferry-notice-'));
  });
  afterEach(async () => {
    for (const kernel of kernels.splice(0)) await kernel.dispose().catch(() => {});
    await rm(dir, { recursive: true, force: true });
  });

  /** The large kernel (LARGE_MB of random bytes) and a small one whose state took a slow cell to make. */
  async function twoKernels(): Promise<{ large: Kernel; small: Kernel }> {
    const large = await launchKernel({ python: testPython(), cwd: dir });
    const small = await launchKernel({ python: testPython(), cwd: dir });
    kernels.push(large, small);
    await runCell(large.client, `import os, numpy as np\nbig = np.frombuffer(os.urandom(${LARGE_MB} * 2**20), dtype=np.uint8)`);
    await runCell(small.client, 'import time\ntime.sleep(1.0)\nresult = {"auc": 0.91, "folds": [0.9, 0.92, 0.91]}');
    return { large, small };
  }

  const post = <T>(url: string, path: string, body: unknown) => serviceRequest<T>(url, TOKEN, 'POST', path, body);

  function expectBothSaved(report: NoticeReport): void {
    expect(report.kernels.map((k) => [k.id, k.outcome])).toEqual([
      ['small', 'saved'], // 1 s of recompute in a few KB: the most valuable per byte, written first
      ['large', 'saved'],
    ]);
    expect(report.allSafe).toBe(true);
    expect(report.elapsedMs).toBeLessThan(NOTICE_SECONDS * 1000);
    const large = report.kernels.find((k) => k.id === 'large')!;
    expect(large.checkpoint!.totalBytes).toBeGreaterThanOrEqual(LARGE_MB * 2 ** 20);
    expect(large.atMs).toBeGreaterThan(report.kernels.find((k) => k.id === 'small')!.atMs);
  }

  it(`POST /notice {deadlineSeconds: ${NOTICE_SECONDS}} checkpoints the small kernel first, then the large one, and reports both saved`, async () => {
    const { large, small } = await twoKernels();
    const running: RunningService = await startService({ token: TOKEN, port: 0, storeRoot: join(dir, 'stores'), python: testPython(), logger: false });
    try {
      for (const [id, kernel] of [['large', large], ['small', small]] as const) {
        expect((await post(running.url, '/kernels', { connectionFile: kernel.connectionFile, id })).status).toBe(201);
      }
      const { status, body: report } = await post<NoticeReport>(running.url, '/notice', { deadlineSeconds: NOTICE_SECONDS });
      expect(status).toBe(200);
      console.log(`notice ${NOTICE_SECONDS} s, ${LARGE_MB} MB + small kernel: ${report.kernels.map((k) => `${k.id} ${k.outcome} at ${k.atMs} ms`).join(', ')}`);
      expectBothSaved(report);

      // A second notice finds both protected: nothing to write.
      const again = await post<NoticeReport>(running.url, '/notice', { deadlineSeconds: NOTICE_SECONDS });
      expect(again.body.kernels.map((k) => k.outcome)).toEqual(['protected', 'protected']);
    } finally {
      await running.close();
    }
  });

  it('a kernel busy in a long cell goes last and is reported missed; the idle one is saved first', async () => {
    const idle = await launchKernel({ python: testPython(), cwd: dir });
    const busy = await launchKernel({ python: testPython(), cwd: dir });
    kernels.push(idle, busy);
    // By value alone the busy one would go first (1 s of recompute against none) and stall the notice.
    await runCell(idle.client, 'small = list(range(100))');
    await runCell(busy.client, 'import time\ntime.sleep(1)\nx = 1');
    const running = await startService({ token: TOKEN, port: 0, storeRoot: join(dir, 'stores'), python: testPython(), logger: false });
    try {
      await post(running.url, '/kernels', { connectionFile: busy.connectionFile, id: 'busy' });
      await post(running.url, '/kernels', { connectionFile: idle.connectionFile, id: 'idle' });
      const cell = busy.client.execute('import time\ntime.sleep(20)');
      const start = Date.now();
      while (busy.client.status !== 'busy' && Date.now() - start < 10_000) await new Promise((r) => setTimeout(r, 20));
      const { body: report } = await post<NoticeReport>(running.url, '/notice', { deadlineSeconds: 4 });
      expect(report.kernels.map((k) => [k.id, k.busy, k.outcome])).toEqual([
        ['idle', false, 'saved'],
        ['busy', true, 'missed'],
      ]);
      expect(report.allSafe).toBe(false);
      expect(report.elapsedMs).toBeLessThan(8000);
      await busy.client.interrupt().catch(() => {});
      void cell.catch(() => {});
    } finally {
      await running.close();
    }
  });

  it(`SIGTERM to \`nbferry serve --grace ${NOTICE_SECONDS}\` checkpoints every kernel before the service exits`, async () => {
    const { large, small } = await twoKernels();
    const tokenFile = join(dir, 'token');
    await writeFile(tokenFile, TOKEN);
    await chmod(tokenFile, 0o600);
    const stores = join(dir, 'stores');
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', '--conditions=source', join(repoRoot, 'packages/cli/src/main.ts'), 'serve', '--stores', stores, '--token-file', tokenFile, '--port', '0', '--grace', String(NOTICE_SECONDS), '--python', testPython()],
      { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      const lines: Record<string, unknown>[] = [];
      let stderr = '';
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      const url = await new Promise<string>((resolve, reject) => {
        createInterface({ input: child.stdout }).on('line', (line) => {
          const entry = JSON.parse(line) as Record<string, unknown>;
          lines.push(entry);
          const listening = /listening at (http:\/\/127\.0\.0\.1:\d+)/i.exec(String(entry.msg));
          if (listening) resolve(listening[1]!);
        });
        void exited.then((code) => reject(new Error(`nbferry serve exited (${code}) before listening: ${stderr}`)));
      });
      for (const [id, kernel] of [['large', large], ['small', small]] as const) {
        expect((await post(url, '/kernels', { connectionFile: kernel.connectionFile, id })).status).toBe(201);
      }
      child.kill('SIGTERM');
      const code = await exited;
      const done = lines.find((l) => l.msg === 'kernels checkpointed before exit') as (NoticeReport & { msg: string }) | undefined;
      expect(done, `no report in the service's log; stderr: ${stderr}`).toBeDefined();
      expect(done!.allSafe).toBe(true);
      expect(done!.kernels.map((k) => [k.id, k.outcome])).toEqual([
        ['small', 'saved'],
        ['large', 'saved'],
      ]);
      expect(code).toBe(143); // terminated, as every nbferry command on SIGTERM
      for (const id of ['large', 'small']) expect(await readdir(join(stores, id, 'checkpoints'))).toHaveLength(1);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });
});
