// --progress=json on real kernels: nbferry/progress@1 lines on stderr, and bytes that advance while a
// large group is written (checkpoint) and read (restore), ending at the exact total.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { attachKernel, launchKernel, type Kernel } from '@nbferry/kernel';
import { nbferry } from './support/cli.js';
import { testPython } from './support/python.js';
import { assertDocument } from './support/schemas.js';

interface ProgressLine {
  task: string;
  phase: string;
  op?: string;
  done?: number;
  total?: number;
}

function progressLines(stderr: string): ProgressLine[] {
  const lines = stderr.split('\n').filter((line) => line.trim() !== '');
  return lines.map((line) => {
    const event = JSON.parse(line) as ProgressLine;
    assertDocument('progress', event);
    return event;
  });
}

/** The byte events of one operation: never going back, the last one complete. */
function expectBytesAdvanceToTotal(events: ProgressLine[], op: 'save' | 'load', total: number): ProgressLine[] {
  const bytes = events.filter((e) => e.phase === 'bytes' && e.op === op);
  expect(bytes.length).toBeGreaterThan(0);
  const done = bytes.map((e) => e.done!);
  expect(done).toEqual([...done].sort((a, b) => a - b));
  for (const e of bytes) expect(e.done!).toBeLessThanOrEqual(e.total!);
  expect(bytes.at(-1)).toMatchObject({ done: total, total });
  return bytes;
}

describe('nbferry --progress=json', () => {
  let dir: string;
  let kernel: Kernel;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'nbf-progress-'));
    kernel = await launchKernel({ python: testPython(), cwd: dir });
    // 256 MB in one group: long enough to be seen advancing.
    await kernel.client.execute('import numpy as np\nbig = np.ones(32 << 20)\nsmall = [1, 2, 3]');
  });
  afterAll(async () => {
    await kernel?.dispose();
    await rm(dir, { recursive: true, force: true });
  });

  it('checkpoint and restore report bytes written and read as they advance, ending at the exact total', async () => {
    const store = join(dir, 'store');
    const saved = await nbferry(['checkpoint', '--connection-file', kernel.connectionFile, '--out', store, '--json', '--progress', 'json']);
    expect(saved.code, saved.stderr).toBe(0);
    const checkpoint = JSON.parse(saved.stdout) as { bytes: number };
    assertDocument('checkpoint', checkpoint);
    const events = progressLines(saved.stderr);
    expect(events.every((e) => e.task === 'checkpoint')).toBe(true);
    expect(events.map((e) => e.phase)).toEqual(expect.arrayContaining(['sync', 'measure', 'plan', 'save', 'bytes', 'commit']));
    const written = expectBytesAdvanceToTotal(events, 'save', checkpoint.bytes);
    // Seen while the 256 MB group was being written, not only at the end.
    expect(written.some((e) => e.done! > 0 && e.done! < checkpoint.bytes)).toBe(true);
    expect(checkpoint.bytes).toBeGreaterThan(256e6);

    const restored = await nbferry(['restore', store, '--python', testPython(), '--json', '--progress', 'json']);
    expect(restored.code, restored.stderr).toBe(0);
    const report = JSON.parse(restored.stdout) as { connectionFile: string; totals: { lost: number } };
    assertDocument('restore', report);
    try {
      expect(report.totals.lost).toBe(0);
      const loadEvents = progressLines(restored.stderr);
      expect(loadEvents.every((e) => e.task === 'restore')).toBe(true);
      expectBytesAdvanceToTotal(loadEvents, 'load', checkpoint.bytes);
    } finally {
      const target = await attachKernel(report.connectionFile);
      await target.client.shutdown();
    }
  });

  it('is quiet on stderr when not a terminal, unless asked', async () => {
    const store = join(dir, 'quiet-store');
    await kernel.client.execute('del big');
    const quiet = await nbferry(['checkpoint', '--connection-file', kernel.connectionFile, '--out', store]);
    expect(quiet.code, quiet.stderr).toBe(0);
    expect(quiet.stderr).toBe('');
    // Another store: into the same one the kernel's lineage would make this checkpoint write nothing.
    const text = await nbferry(['checkpoint', '--connection-file', kernel.connectionFile, '--out', join(dir, 'text-store'), '--progress', 'text']);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stderr).toMatch(/^checkpoint: measuring variables$/m);
    expect(text.stderr).toMatch(/^checkpoint: writing \d+ groups? .* \/ .*100%/m);
    expect(text.stderr).toMatch(/^checkpoint: committing$/m);
  });
});
