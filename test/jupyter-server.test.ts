/**
 * nbferry through real Jupyter Servers: A is a stock server, B runs nbferry's TCP_NODELAY
 * connection class. Both on 127.0.0.1 with tokens, started and stopped here.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  MessageTooLargeError,
  SessionMigrationError,
  checkpointOverWire,
  connectServerKernel,
  migrateSession,
  restoreOverWire,
  routeServicesLogs,
  stagedBuffers,
  startServerKernel,
  type ServerKernel,
} from '@nbferry/jupyter-server';
import { migrateLive } from '@nbferry/migrate';
import { Recorder } from '@nbferry/recorder';
import { LocalStore } from '@nbferry/store';
import { Frontend, startJupyterServer, type JupyterServer } from './support/jupyter-server.js';

const MiB = 1024 * 1024;
let A: JupyterServer;
let B: JupyterServer;
let scratch: string;
let unrouteLogs: () => void;

beforeAll(async () => {
  unrouteLogs = routeServicesLogs();
  scratch = await mkdtemp(join(tmpdir(), 'nbf-js-test-'));
  [A, B] = await Promise.all([startJupyterServer(), startJupyterServer({ tuned: true })]);
});

afterAll(async () => {
  await Promise.all([A?.stop(), B?.stop()]);
  await rm(scratch, { recursive: true, force: true });
  unrouteLogs?.();
});

/** Shuts down whatever kernels and sessions a test left on both servers. */
async function cleanServers(): Promise<void> {
  for (const server of [A, B]) {
    for (const session of await server.api.listSessions()) await server.api.deleteSession(session.id).catch(() => {});
    for (const kernel of await server.api.listKernels()) await server.api.shutdownKernel(kernel.id).catch(() => {});
  }
}

/**
 * A notebook session on `server` with a frontend that ran `cells` in it. With `record`, nbferry
 * attached to the kernel when it started (as a platform would), so every cell is recorded.
 */
async function notebookSession(
  server: JupyterServer,
  path: string,
  cells: string[],
  record = true,
): Promise<{ frontend: Frontend; sessionId: string; kernelId: string }> {
  if (path.includes('/')) await server.api.putContents({ path: path.slice(0, path.lastIndexOf('/')), type: 'directory', format: null, content: null });
  await server.api.putContents({ path, type: 'notebook', format: 'json', content: { cells: [], metadata: {}, nbformat: 4, nbformat_minor: 5 } });
  const session = await server.api.createSession({ path, name: path, type: 'notebook', kernel: { name: 'python3' } });
  if (record) {
    const kernel = await connectServerKernel(server, session.kernel!.id);
    await Recorder.attach(kernel.client);
    await kernel.detach();
  }
  const frontend = await Frontend.open(server, session.kernel!.id);
  for (const cell of cells) await frontend.run(cell);
  return { frontend, sessionId: session.id, kernelId: session.kernel!.id };
}

describe('kernels through a Jupyter Server', () => {
  test('attach to a running kernel and record the cells a frontend runs', async () => {
    const { frontend, kernelId } = await notebookSession(A, 'attach.ipynb', ['import numpy as np', 'a = np.arange(6)'], false);
    const guest = await connectServerKernel(A, kernelId);
    try {
      const recorder = await Recorder.attach(guest.client);
      expect(recorder.hello.unknownProvenance).toEqual(expect.arrayContaining(['a', 'np']));
      await frontend.run('b = a * 2');
      await frontend.run('print(int(b.sum()))');
      await recorder.sync();
      const cells = recorder.graph.executions.map((r) => r.code);
      expect(cells).toEqual(['b = a * 2', 'print(int(b.sum()))']);

      // Binary buffers arrive as Buffers (services would hand out DataViews).
      const { result, buffers } = await recorder.request<{ blobs: { ok: boolean }[] }>('save_buffers', { groups: [['b']] });
      expect(result.blobs[0]!.ok).toBe(true);
      expect(buffers.length).toBeGreaterThan(0);
      for (const buffer of buffers) expect(Buffer.isBuffer(buffer)).toBe(true);

      // A message the server would drop is refused with a typed error; the connection lives on.
      const refused = await guest.client.execute('x = 1', { metadata: { pad: 'x'.repeat(11 * MiB) } }).catch((error: unknown) => error);
      expect((refused as Error).cause).toBeInstanceOf(MessageTooLargeError);
      expect((await guest.client.execute('print("still here")')).stdout).toBe('still here\n');
    } finally {
      await guest.detach();
      frontend.close();
    }
    expect(await A.api.getKernel(kernelId)).toBeDefined(); // detaching left the user's kernel alone
    await cleanServers();
  });

  test('checkpoint a kernel on A, restore it into a kernel on B', async () => {
    const source = await startServerKernel(A);
    let target: ServerKernel | undefined;
    try {
      const recorder = await Recorder.attach(source.client);
      for (const code of [
        'import numpy as np',
        'rng = np.random.default_rng(7)\nweights = rng.random((300, 300))',
        'def score(v):\n    return float((weights @ v).sum())',
        'labels = {i: f"row{i}" for i in range(500)}',
        'result = score(np.ones(300))',
      ]) {
        expect((await source.client.execute(code)).status).toBe('ok');
      }
      const saved = await checkpointOverWire(recorder, new LocalStore(join(scratch, 'a-to-b')));
      target = await startServerKernel(B);
      const report = await restoreOverWire(saved.checkpoint, target.client);
      expect(report.verification.ok).toBe(true);
      const names = report.verification.variables.map((v) => v.name);
      expect(names).toEqual(expect.arrayContaining(['weights', 'labels', 'result', 'score']));
      const check = await target.client.execute('print(score(np.ones(300)) == result, len(labels), weights.shape)');
      expect(check.stdout).toBe('True 500 (300, 300)\n');
    } finally {
      await target?.shutdown();
      await source.shutdown();
    }
  });

  test('a 50 MiB variable moves through the websocket path in chunks under the limit', async () => {
    const source = await startServerKernel(A);
    const target = await startServerKernel(B);
    try {
      // Made before the recorder attached: no recorded cell can recompute it, so it must move.
      await source.client.execute("big = __import__('numpy').random.default_rng(1).random(50 * 1024 * 1024 // 8)\ntotal = float(big.sum())");
      const recorder = await Recorder.attach(source.client);
      const report = await migrateLive(recorder, target.client, { blobTransfer: (buffers) => stagedBuffers(buffers) });
      expect(report.verification.ok).toBe(true);
      expect(report.verification.variables.find((v) => v.name === 'big')?.outcome).toBe('restored');
      expect(report.bytesMoved).toBeGreaterThanOrEqual(50 * MiB);
      expect(target.transport.largestSent).toBeLessThan(10 * MiB);
      expect((await target.client.execute('print(float(big.sum()) == total, big.nbytes)')).stdout).toBe(`True ${50 * MiB}\n`);
    } finally {
      await target.shutdown();
      await source.shutdown();
    }
  });

  test('session migration A→B: the frontend continues on B, nothing lost, A shut down after verification', async () => {
    const path = 'work/analysis.ipynb';
    const { frontend, sessionId, kernelId } = await notebookSession(A, path, [
      'import numpy as np',
      'data = np.arange(10)',
      'total = int(data.sum())',
    ]);
    const stages: string[] = [];
    try {
      const report = await migrateSession({
        from: A,
        to: B,
        path,
        timeoutMs: 30_000,
        onStage: async (stage, attempt) => {
          stages.push(`${attempt}:${stage}`);
          // The user runs a cell on A while the first attempt is being verified: the move starts
          // over so that it carries this cell's result too.
          if (stage === 'verify' && attempt === 1) await frontend.run('late = total * 2');
        },
      });
      expect(report.attempts).toBe(2);
      expect(stages).toContain('1:source-changed');
      expect(report.sourceShutDown).toBe(true);
      expect(report.migration.verification.ok).toBe(true);
      expect(report.session.path).toBe(path);
      expect(report.session.kernel?.id).toBe(report.targetKernelId);

      // A: session and kernel gone, only after the move (a frontend polling A's sessions sees it end).
      expect(await A.api.getSession(sessionId)).toBeUndefined();
      expect(await A.api.getKernel(kernelId)).toBeUndefined();
      // B: the notebook and its session; a reopened frontend keeps executing with the same state.
      expect((await B.api.getContents(path))?.type).toBe('notebook');
      const reopened = await Frontend.openSession(B, path);
      try {
        expect(await reopened.run('print(total, late, int(data.sum()))')).toBe('45 90 45\n');
        expect(await reopened.run('more = late + 1\nprint(more)')).toBe('91\n');
      } finally {
        reopened.close();
      }
    } finally {
      frontend.close();
      await cleanServers();
    }
  });

  test('a failure mid-move leaves A untouched: aborted, and target kernel killed', async () => {
    const path = 'fragile.ipynb';
    const { frontend, sessionId, kernelId } = await notebookSession(A, path, ['import numpy as np', 'keep = np.arange(1_000_000)', 'note = "still here"']);
    try {
      // 1. The caller aborts while B replays the state.
      const abort = new AbortController();
      const aborted = await migrateSession({
        from: A,
        to: B,
        path,
        signal: abort.signal,
        onProgress: (event) => {
          if (event.phase === 'load' || event.phase === 'run') abort.abort(new Error('operator cancelled'));
        },
      }).catch((error: unknown) => error);
      expect(aborted).toBeInstanceOf(SessionMigrationError);
      expect((aborted as SessionMigrationError).stage).toBe('migrate');
      expect((aborted as Error).message).toMatch(/aborted/);

      // 2. The target kernel dies in the middle of the move.
      const died = await migrateSession({
        from: A,
        to: B,
        path,
        timeoutMs: 30_000,
        onStage: async (stage) => {
          if (stage !== 'migrate') return;
          const [kernel] = await B.api.listKernels();
          await B.api.shutdownKernel(kernel!.id);
        },
      }).catch((error: unknown) => error);
      expect(died).toBeInstanceOf(SessionMigrationError);
      expect((died as SessionMigrationError).stage).toBe('migrate');
      expect((died as Error).message).toContain(`source kernel ${kernelId} is still running`);

      // A: same session, same kernel, same state, and the frontend carries on.
      expect((await A.api.getSession(sessionId))?.kernel?.id).toBe(kernelId);
      expect(await frontend.run('print(note, int(keep.sum()))')).toBe(`still here ${(999_999 * 1_000_000) / 2}\n`);
      // B: nothing left behind.
      expect(await B.api.listSessions()).toEqual([]);
      expect(await B.api.listKernels()).toEqual([]);
    } finally {
      frontend.close();
      await cleanServers();
    }
  });
});
