// A usable prompt before the largest groups have arrived (issue 17): with `background`, the loads
// after the last rerun run on a worker thread in the kernel; the kernel takes cells at once, a cell
// touching a name still in flight waits for exactly that name, and everything is still verified.
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { KernelClient } from '@nbferry/kernel';
import { checkpoint, restore, type RestoreReport, type UsableEvent } from '@nbferry/migrate';
import { Recorder } from '@nbferry/recorder';
import { chunkPath, LocalStore } from '@nbferry/store';
import { attachKernel } from '@nbferry/kernel';
import { nbferry } from './support/cli.js';
import { runCell, useKernelSandbox, valueOf } from './support/kernel-sandbox.js';
import { testPython } from './support/python.js';
import { assertDocument } from './support/schemas.js';

// `slow` takes 3 s to unpickle; its value is random, so only loading brings it back.
const SOURCE_CELLS = [
  'import os, time',
  'class Slow:\n    def __setstate__(self, state):\n        time.sleep(3)\n        self.__dict__.update(state)\nslow = Slow()\nslow.v = os.urandom(8).hex()',
  'small = os.urandom(4).hex()',
];

describe('restore with background loads', () => {
  const sandbox = useKernelSandbox('nbf-background-');

  async function checkpointed(): Promise<{ store: LocalStore; saved: Awaited<ReturnType<typeof checkpoint>>; source: KernelClient }> {
    const source = await sandbox.kernel();
    const recorder = await Recorder.attach(source.client);
    for (const cell of SOURCE_CELLS) await runCell(source.client, cell);
    const store = new LocalStore(join(sandbox.dir(), 'store'));
    return { store, saved: await checkpoint(recorder, store), source: source.client };
  }

  /** Starts a background restore; resolves `usable` when it hands the kernel over. */
  function startRestore(saved: Awaited<ReturnType<typeof checkpoint>>, target: KernelClient) {
    let handOver!: (event: UsableEvent) => void;
    const usable = new Promise<UsableEvent>((resolve) => (handOver = resolve));
    const done: Promise<RestoreReport> = restore(saved.checkpoint, target, { background: true, onUsable: handOver });
    done.catch(() => {}); // awaited by each test
    return { usable, done };
  }

  it('runs cells that do not touch what is in flight at once, and makes the others wait for it', async () => {
    const { saved, source } = await checkpointed();
    const target = (await sandbox.kernel()).client;
    // A helper defined before the restore: it looks at the namespace without naming a variable.
    await runCell(target, 'def arrived(name):\n    return name in get_ipython().user_ns');
    const { usable, done } = startRestore(saved, target);
    const handedOver = await usable;
    expect(handedOver.inFlight).toContain('slow');

    // Waits for `small` only (the smallest group, loaded first), not for `slow`.
    await runCell(target, 'seen_early = arrived("slow")\nearly = small');
    await runCell(target, 'v = slow.v'); // waits for exactly `slow`
    const report = await done;
    expect(await valueOf(target, 'seen_early')).toBe('False');
    expect(await valueOf(target, 'early')).toBe(await valueOf(source, 'small'));
    expect(await valueOf(target, 'v')).toBe(await valueOf(source, 'slow.v'));

    expect(report.verification.ok).toBe(true);
    expect(report.verification.variables.find((v) => v.name === 'slow')?.outcome).toBe('restored');
    expect(report.backgroundGroups).toBeGreaterThanOrEqual(1);
    expect(report.timings.usableMs).toBeLessThan(report.timings.lastByteMs!);
  });

  // Each cell is the first after the hand-over, so `slow` is still in flight when it starts.
  it.each([
    ['a globals() listing', 'names = sorted(k for k in globals() if not k.startswith("_"))', '"slow" in names', 'True'],
    ['%who', 'names = %who_ls', '"slow" in names', 'True'],
    ['del of a name in flight', 'del slow', '"slow" in dir()', 'False'],
  ])('makes %s wait for what is in flight', async (_what, cell, check, expected) => {
    const { saved } = await checkpointed();
    const target = (await sandbox.kernel()).client;
    const { usable, done } = startRestore(saved, target);
    await usable;
    await runCell(target, cell);
    const report = await done;
    expect(await valueOf(target, check)).toBe(expected);
    expect(report.verification.ok).toBe(true);
  });

  it('reports a group that fails to load after the hand-over as lost, saying why', async () => {
    const { saved } = await checkpointed();
    const blob = saved.checkpoint.manifest.blobs.find((b) => b.variables.includes('slow'))!;
    const chunk = chunkPath(saved.checkpoint.chunksDir!, blob.chunks![0]!);
    const bytes = await readFile(chunk);
    bytes[bytes.length >> 1]! ^= 0xff; // same size: the kernel's quick check passes, the checksum does not
    await writeFile(chunk, bytes);
    const target = (await sandbox.kernel()).client;
    const { usable, done } = startRestore(saved, target);
    await usable;
    const report = await done;
    expect(report.verification.ok).toBe(false);
    const slow = report.verification.variables.find((v) => v.name === 'slow')!;
    expect(slow.outcome).toBe('lost');
    expect(slow.detail).toMatch(/background.*checksum/);
    expect(await valueOf(target, 'small')).toBeDefined();
  });

  it('a plain restore loads after the reruns: unpickling `slow` needs the `time` its import cell binds', async () => {
    const { saved, source } = await checkpointed();
    const target = (await sandbox.kernel()).client;
    const report = await restore(saved.checkpoint, target);
    expect(report.fallbacks).toEqual([]);
    expect(report.verification.ok).toBe(true);
    expect(await valueOf(target, 'slow.v')).toBe(await valueOf(source, 'slow.v'));
  });

  it('nbferry restore --background says when the kernel was usable and when the last byte arrived', async () => {
    const { store } = await checkpointed();
    const result = await nbferry(['restore', store.root, '--background', '--python', testPython(), '--cwd', sandbox.dir(), '--json']);
    expect(result.code, result.stderr).toBe(0);
    const document = JSON.parse(result.stdout) as { connectionFile: string; timings: { usableMs: number; lastByteMs: number; totalMs: number } };
    assertDocument('restore', document);
    expect(document.timings.usableMs).toBeLessThan(document.timings.lastByteMs);
    const kernel = await attachKernel(document.connectionFile);
    try {
      expect(await valueOf(kernel.client, 'len(slow.v)')).toBe('16');
    } finally {
      await kernel.client.shutdown();
      await kernel.detach();
    }
  });
});
