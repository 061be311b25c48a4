// Background auto-checkpoints on a kernel subshell (python-shim lane.py): the user's next cell starts
// while the save is still running, a cell that changes the state mid-save makes that checkpoint
// abandoned (never committed) and the next one commits the new state, and an interrupt stops it.
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import type { JupyterMessage } from '@nbferry/protocol';
import type { KernelClient } from '@nbferry/kernel';
import { AutoCheckpointer, restore, type CheckpointBody, type ProgressEvent } from '@nbferry/migrate';
import { Recorder } from '@nbferry/recorder';
import { LocalStore } from '@nbferry/store';
import { runCell, useKernelSandbox, valueOf } from './support/kernel-sandbox.js';
import { waitUntil } from './support/processes.js';

/** 640 MB of entropy: its save takes seconds, so the test can act while it is being written. */
// Unseeded: a rerun would draw other numbers, so the plan saves `big` (640 MB: a save that takes a while).
const BIG = 'import numpy as np\nbig = np.random.default_rng().random(80_000_000)\nx = 1';

/** comm_msg requests the kernel is handling (between their busy and idle), from iopub. */
function commRequestsInFlight(client: KernelClient): { count: () => number; off: () => void } {
  const inFlight = new Set<string>();
  const off = client.events.on('iopub', (msg: JupyterMessage) => {
    const parent = msg.parent_header as { msg_id?: string; msg_type?: string };
    if (msg.header.msg_type !== 'status' || parent.msg_type !== 'comm_msg' || !parent.msg_id) return;
    const state = (msg.content as { execution_state?: string }).execution_state;
    if (state === 'busy') inFlight.add(parent.msg_id);
    if (state === 'idle') inFlight.delete(parent.msg_id);
  });
  return { count: () => inFlight.size, off };
}

/** Calls `act` once, when the checkpoint's first bytes are stored (the save is under way). */
function onceSaving(act: () => void): (event: ProgressEvent) => void {
  let done = false;
  return (event) => {
    if (done || event.phase !== 'bytes' || event.done <= 0) return;
    done = true;
    act();
  };
}

async function chunkFiles(store: LocalStore): Promise<number> {
  const dirs = await readdir(store.chunksDir).catch(() => [] as string[]);
  let n = 0;
  for (const d of dirs) n += (await readdir(join(store.chunksDir, d)).catch(() => [] as string[])).filter((f) => !f.startsWith('.')).length;
  return n;
}

describe('background auto-checkpoint (kernel subshell)', () => {
  const sandbox = useKernelSandbox('nbf-bg-');
  let dir: string;
  beforeEach(() => {
    dir = sandbox.dir();
  });

  for (const lane of ['subshell', 'main'] as const) {
    it(`a cell sent during a save ${lane === 'subshell' ? 'starts while the save is still running' : 'waits for the save request (main-shell fallback)'}`, async () => {
      const source = await sandbox.kernel();
      const recorder = await Recorder.attach(source.client);
      const inFlight = commRequestsInFlight(source.client);
      let requestsAtCellStart: number | undefined;
      source.client.events.on('iopub', (msg) => {
        if (msg.header.msg_type === 'execute_input' && (msg.content as { code?: string }).code === 'after = 1') requestsAtCellStart = inFlight.count();
      });
      let cell: Promise<unknown> | undefined;
      let cellMs = 0;
      const auto = new AutoCheckpointer(recorder, new LocalStore(join(dir, 'store')), {
        idleMs: 0,
        lane,
        onError: (error) => console.log('auto-checkpoint failed:', error),
        onProgress: onceSaving(() => {
          const sent = performance.now();
          cell = source.client.execute('after = 1').then(() => (cellMs = performance.now() - sent));
        }),
      });
      await runCell(source.client, BIG);
      expect(await waitUntil(() => requestsAtCellStart !== undefined, 60_000)).toBe(true);
      await cell;
      expect(await waitUntil(() => auto.stats.committed >= 1, 60_000), JSON.stringify(auto.stats)).toBe(true);
      await auto.stop();
      inFlight.off();
      console.log(`a cell sent during the ${lane} lane's save of 640 MB took ${cellMs.toFixed(0)} ms`);
      expect(auto.lane).toBe(lane);
      // On the subshell, the save request is still being handled when the cell starts; on the main
      // shell, the kernel handles one request at a time, so the cell starts only after it.
      if (lane === 'subshell') expect(requestsAtCellStart).toBeGreaterThan(0);
      else expect(requestsAtCellStart).toBe(0);
    }, 240_000);
  }

  it('a cell that changes the state during a background save: that checkpoint is not committed, the next one is and restores the new values', async () => {
    const store = new LocalStore(join(dir, 'store'));
    const source = await sandbox.kernel();
    const recorder = await Recorder.attach(source.client);
    let cell: Promise<unknown> | undefined;
    const auto = new AutoCheckpointer(recorder, store, {
      idleMs: 0,
      onError: (error) => console.log('auto-checkpoint failed:', error),
      // Mutates in place the array being saved, and rebinds another variable.
      onProgress: onceSaving(() => (cell = source.client.execute('big[:1000] = -1.0\nx = 2'))),
    });
    await runCell(source.client, BIG);
    expect(await waitUntil(() => cell !== undefined, 60_000)).toBe(true);
    await cell;
    expect(await waitUntil(() => auto.stats.abandoned >= 1 && auto.stats.committed >= 1, 60_000), JSON.stringify(auto.stats)).toBe(true);
    await auto.stop();
    expect(auto.lane).toBe('subshell');
    expect(auto.stats).toMatchObject({ committed: 1, abandoned: 1, failed: 0 });
    const ids = await store.list();
    expect(ids).toHaveLength(1); // the checkpoint after the first cell was never committed
    const stored = await store.open<CheckpointBody>(ids[0]);
    expect(stored.manifest.body.history.executions.at(-1)?.code).toBe('big[:1000] = -1.0\nx = 2');
    const target = await sandbox.kernel();
    const report = await restore(stored, target.client);
    expect(report.verification.ok).toBe(true);
    expect(await valueOf(target.client, 'x')).toBe('2');
    expect(await valueOf(target.client, 'float(big[999]), float(big[1000]) == float(big[1000])')).toBe('(-1.0, True)');
    expect(await valueOf(target.client, 'bool((big[:1000] == -1.0).all())')).toBe('True');
  }, 240_000);

  it('an interrupt during a background save abandons it: the lane stops writing, nothing is committed, the next checkpoint commits', async () => {
    const store = new LocalStore(join(dir, 'store'));
    const source = await sandbox.kernel();
    const recorder = await Recorder.attach(source.client);
    const inFlight = commRequestsInFlight(source.client);
    let interrupted = false;
    const auto = new AutoCheckpointer(recorder, store, {
      idleMs: 0,
      onError: (error) => console.log('auto-checkpoint failed:', error),
      onProgress: onceSaving(() => {
        interrupted = true;
        void source.client.interrupt();
      }),
    });
    await runCell(source.client, BIG);
    expect(await waitUntil(() => interrupted && auto.stats.abandoned === 1, 60_000), JSON.stringify(auto.stats)).toBe(true);
    // The lane's save request ends without writing the whole blob (77 chunks of 8 MiB).
    expect(await waitUntil(() => inFlight.count() === 0, 60_000)).toBe(true);
    inFlight.off();
    expect(await chunkFiles(store)).toBeLessThan(77);
    expect(await store.list()).toHaveLength(0);
    expect(auto.stats).toMatchObject({ committed: 0, failed: 0 });
    // The kernel is fine, and the next cell's checkpoint commits the whole state.
    await runCell(source.client, 'y = 3');
    expect(await waitUntil(() => auto.stats.committed === 1, 60_000), JSON.stringify(auto.stats)).toBe(true);
    await auto.stop();
    const ids = await store.list();
    expect(ids).toHaveLength(1);
    const stored = await store.open<CheckpointBody>(ids[0]);
    expect(Object.keys(stored.manifest.body.fingerprints.values).sort()).toEqual(['big', 'np', 'x', 'y']);
    for (const blob of stored.manifest.blobs) expect(await stored.blobProblem(blob)).toBeUndefined();
  }, 240_000);
});
