// Pre-copy in the Jupyter Server session path (issue 17): a platform auto-checkpoints the session's
// kernel into a store both servers' kernels can read; migrateSession then sends only what changed
// since the last of those checkpoints (through the staged websocket path), the rest loads from the store.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { connectServerKernel, migrateSession, routeServicesLogs } from '@nbferry/jupyter-server';
import { checkpoint } from '@nbferry/migrate';
import { Recorder } from '@nbferry/recorder';
import { LocalStore } from '@nbferry/store';
import { Frontend, startJupyterServer, type JupyterServer } from './support/jupyter-server.js';

let A: JupyterServer;
let B: JupyterServer;
let scratch: string;
let unrouteLogs: () => void;

beforeAll(async () => {
  unrouteLogs = routeServicesLogs();
  scratch = await mkdtemp(join(tmpdir(), 'nbf-js-precopy-'));
  [A, B] = await Promise.all([startJupyterServer(), startJupyterServer({ tuned: true })]);
});

afterAll(async () => {
  await Promise.all([A?.stop(), B?.stop()]);
  await rm(scratch, { recursive: true, force: true });
  unrouteLogs?.();
});

describe('session migration with pre-copy', () => {
  test('moves only what changed since the last checkpoint the platform took; the target loads the rest from the store', async () => {
    const path = 'precopy.ipynb';
    await A.api.putContents({ path, type: 'notebook', format: 'json', content: { cells: [], metadata: {}, nbformat: 4, nbformat_minor: 5 } });
    const session = await A.api.createSession({ path, name: path, type: 'notebook', kernel: { name: 'python3' } });
    // The platform's own connection: it records the kernel and checkpoints it (as its background
    // checkpoints would; the kernel keeps the lineage point, so migrateSession's own connection finds it).
    const platform = await connectServerKernel(A, session.kernel!.id);
    const recorder = await Recorder.attach(platform.client);
    const store = new LocalStore(join(scratch, 'store'));
    const frontend = await Frontend.open(A, session.kernel!.id);
    try {
      // Unseeded: a rerun would draw other numbers, so `big` is saved (and pre-copied).
      await frontend.run('import numpy as np\nbig = np.random.default_rng().random(6_000_000)\nsmall = [1, 2]');
      const sourceSum = await frontend.run('print(float(big.sum()))');
      await checkpoint(recorder, store);
      await platform.detach();
      await frontend.run('small.append(3)'); // after the last checkpoint: must cross the wire

      const report = await migrateSession({ from: A, to: B, path, precopy: store, timeoutMs: 60_000, chunkBytes: 1024 * 1024 });
      expect(report.migration.verification.ok).toBe(true);
      expect(report.migration.bytesPrecopied).toBeGreaterThanOrEqual(48_000_000);
      expect(report.migration.bytesMoved).toBeLessThan(1_000_000);
      const reopened = await Frontend.openSession(B, path);
      try {
        expect(await reopened.run('print(small)\nprint(float(big.sum()))')).toBe(`[1, 2, 3]\n${sourceSum}`);
      } finally {
        reopened.close();
      }
      console.log(`session migration: ${report.migration.bytesMoved} bytes sent, ${report.migration.bytesPrecopied} loaded from the store`);
    } finally {
      frontend.close();
      for (const server of [A, B]) {
        for (const s of await server.api.listSessions()) await server.api.deleteSession(s.id).catch(() => {});
        for (const k of await server.api.listKernels()) await server.api.shutdownKernel(k.id).catch(() => {});
      }
    }
  }, 240_000);
});
