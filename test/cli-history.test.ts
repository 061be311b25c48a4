// History on the command line, real kernels: run --auto-checkpoint writes one checkpoint per cell
// with parents chained; log lists them; restore --checkpoint brings back the state as of a middle
// cell; inspect shows parent and bytes; gc deletes by retention and refuses while another gc runs.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { attachKernel } from '@nbferry/kernel';
import { currentOwner, GC_LEASE } from '@nbferry/store';
import { nbferry } from './support/cli.js';
import { notebook } from './support/notebook.js';
import { testPython } from './support/python.js';
import { assertDocument } from './support/schemas.js';
import { valueOf } from './support/kernel-sandbox.js';

interface LogDoc {
  ok: boolean;
  checkpoints: { id: string; parent: string | null; latest: boolean; executionCount: number | null; cell: string; newBytes: number | null; totalBytes: number; variablesChanged: string[]; error: string | null }[];
}

// Cell 1 draws random bytes (cannot be recomputed: it must be serialized); cell 3 changes `a` and `noise`.
const CELLS = [
  'import os\na = 1\nnoise = os.urandom(64).hex()',
  'b = a + 10',
  'a = 2\nnoise = noise[::-1]\nc = [a, b]',
  'd = a * 100',
];

describe('nbferry log, gc, restore --checkpoint, run --auto-checkpoint', () => {
  let dir: string;
  let store: string;
  let run: { code: number; stdout: string; stderr: string };
  let history: LogDoc;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'nbf-cli-history-'));
    store = join(dir, 'store');
    await writeFile(join(dir, 'nb.ipynb'), notebook(CELLS));
    run = await nbferry(['run', join(dir, 'nb.ipynb'), '--python', testPython(), '--checkpoint', store, '--auto-checkpoint', '--json']);
    const logged = await nbferry(['log', store, '--json']);
    expect(logged.code, logged.stderr).toBe(0);
    history = JSON.parse(logged.stdout) as LogDoc;
    assertDocument('log', history);
  }, 180_000);
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('run --auto-checkpoint commits one checkpoint per cell, chained by parent, and reports it in the run document', () => {
    expect(run.code, run.stderr).toBe(0);
    const document = JSON.parse(run.stdout) as { autoCheckpoint: { committed: number; failed: number; lastCheckpointId: string }; checkpoint: { id: string } };
    assertDocument('run', document);
    expect(document.autoCheckpoint).toMatchObject({ committed: CELLS.length, failed: 0 });

    expect(history.ok).toBe(true);
    const entries = history.checkpoints;
    expect(entries.map((e) => e.executionCount)).toEqual([1, 2, 3, 4]);
    expect(entries.map((e) => e.cell)).toEqual(CELLS.map((c) => c.split('\n')[0]));
    expect(entries[0]!.parent).toBeNull();
    for (let i = 1; i < entries.length; i++) expect(entries[i]!.parent).toBe(entries[i - 1]!.id);
    expect(entries.map((e) => e.latest)).toEqual([false, false, false, true]);
    expect(document.autoCheckpoint.lastCheckpointId).toBe(entries.at(-1)!.id);
    expect(document.checkpoint.id).toBe(entries.at(-1)!.id);
    // What each cell changed, as seen against its parent.
    expect(entries[1]!.variablesChanged).toEqual(['b']);
    expect(entries[2]!.variablesChanged).toEqual(['a', 'c', 'noise']);
    expect(entries[3]!.variablesChanged).toEqual(['d']);
    for (const e of entries) {
      expect(e.newBytes).not.toBeNull();
      expect(e.newBytes!).toBeLessThanOrEqual(e.totalBytes);
    }
  });

  it('run --auto-checkpoint --idle-ms checkpoints in the background; the last checkpoint holds the final state', async () => {
    const background = join(dir, 'background');
    const result = await nbferry(['run', join(dir, 'nb.ipynb'), '--python', testPython(), '--checkpoint', background, '--auto-checkpoint', '--idle-ms', '0', '--quiet']);
    expect(result.code, result.stderr).toBe(0);
    const line = /auto-checkpoint: (\d+) committed, (\d+) abandoned \(preempted by a cell\), 0 failed; last (\S+) in /.exec(result.stdout);
    expect(line, result.stdout).not.toBeNull();
    // Cells follow each other at once: some checkpoints may be preempted, the one after the last cell is not.
    expect(Number(line![1])).toBeGreaterThanOrEqual(1);
    const logged = JSON.parse((await nbferry(['log', background, '--json'])).stdout) as LogDoc;
    expect(logged.checkpoints).toHaveLength(Number(line![1]));
    expect(logged.checkpoints.at(-1)).toMatchObject({ id: line![3], latest: true, executionCount: CELLS.length });
  }, 120_000);

  it('--auto-checkpoint and --idle-ms are usage errors without what they need', async () => {
    const nb = join(dir, 'nb.ipynb');
    for (const args of [['--auto-checkpoint'], ['--checkpoint', join(dir, 'x'), '--idle-ms', '10'], ['--checkpoint', join(dir, 'x'), '--auto-checkpoint', '--idle-ms', 'soon']]) {
      const result = await nbferry(['run', nb, '--python', testPython(), ...args]);
      expect(result.code, `${args.join(' ')}: ${result.stderr}`).toBe(2);
    }
  });

  it('log prints one line per checkpoint with its parent, cell and bytes', async () => {
    const text = await nbferry(['log', store]);
    expect(text.code, text.stderr).toBe(0);
    const lines = text.stdout.trim().split('\n');
    expect(lines).toHaveLength(CELLS.length);
    for (const [i, e] of history.checkpoints.entries()) {
      expect(lines[i]).toContain(e.id);
      expect(lines[i]).toContain(`parent ${e.parent ?? '-'}`);
      expect(lines[i]).toContain(`[${i + 1}] ${CELLS[i]!.split('\n')[0]}`);
    }
    expect(lines.at(-1)).toContain('LATEST');
  });

  it('restore --checkpoint ID brings back the state as of that cell, verified', async () => {
    const middle = history.checkpoints[1]!; // after `b = a + 10`, before `a = 2`
    const restored = await nbferry(['restore', store, '--checkpoint', middle.id, '--python', testPython(), '--json']);
    expect(restored.code, restored.stderr).toBe(0);
    const report = JSON.parse(restored.stdout) as { ok: boolean; connectionFile: string; variables: { name: string }[] };
    assertDocument('restore', report);
    expect(report.ok).toBe(true);
    expect(report.variables.map((v) => v.name).sort()).toEqual(['a', 'b', 'noise', 'os']);
    const kernel = await attachKernel(report.connectionFile);
    try {
      expect(await valueOf(kernel.client, 'a')).toBe('1');
      expect(await valueOf(kernel.client, 'b')).toBe('11');
      expect(await valueOf(kernel.client, "'c' in globals()")).toBe('False');
      expect(await valueOf(kernel.client, 'len(noise)')).toBe('128');
    } finally {
      await kernel.client.shutdown();
      await kernel.detach();
    }
  }, 120_000);

  it('inspect shows the parent and the bytes new and total', async () => {
    const entry = history.checkpoints[2]!;
    const inspected = await nbferry(['inspect', join(store, 'checkpoints', entry.id), '--json']);
    expect(inspected.code, inspected.stderr).toBe(0);
    const document = JSON.parse(inspected.stdout) as { parent: string | null; stats: { newBytes: number; totalBytes: number } | null };
    assertDocument('inspect', document);
    expect(document.parent).toBe(entry.parent);
    expect(document.stats).toEqual({ newBytes: entry.newBytes, totalBytes: entry.totalBytes });
    const text = await nbferry(['inspect', join(store, 'checkpoints', entry.id)]);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toContain(`parent: ${entry.parent!}`);
    expect(text.stdout).toMatch(/bytes: \+[\d.]+ [KMG]?B new of [\d.]+ [KMG]?B total/);
  });

  it('restore --checkpoint with an unknown id fails with exit 4 and says how to list the ids', async () => {
    const result = await nbferry(['restore', store, '--checkpoint', '20200101-000000000-deadbeef', '--python', testPython()]);
    expect(result.code).toBe(4);
    expect(result.stderr).toContain('UnknownCheckpointIdError');
    expect(result.stderr).toContain(`nbferry log ${store}`);
  });

  it('gc validates its options', async () => {
    for (const args of [[], ['--keep', '0'], ['--keep', 'two'], ['--keep-within', '3 weeks'], ['--keep-within', '12']]) {
      const result = await nbferry(['gc', store, ...args]);
      expect(result.code, `${args.join(' ')}: ${result.stderr}`).toBe(2);
    }
    const result = await nbferry(['gc', store, '--keep-within', '3x']);
    expect(result.stderr).toContain('30m, 12h or 7d');
  });

  it('gc --keep-within keeps what is recent; a gc running elsewhere makes gc exit 75 with nothing deleted', async () => {
    const kept = await nbferry(['gc', store, '--keep-within', '7d', '--json']);
    expect(kept.code, kept.stderr).toBe(0);
    const document = JSON.parse(kept.stdout) as { deletedCheckpoints: string[]; keptCheckpoints: string[] };
    assertDocument('gc', document);
    expect(document.deletedCheckpoints).toEqual([]);
    expect(document.keptCheckpoints).toHaveLength(CELLS.length);

    // This test process is alive: its lease is a gc in progress.
    const lease = join(store, GC_LEASE);
    await writeFile(lease, JSON.stringify(currentOwner()));
    try {
      const busy = await nbferry(['gc', store, '--keep', '1']);
      expect(busy.code).toBe(75);
      expect(busy.stderr).toContain('being garbage-collected by another process');
    } finally {
      await rm(lease, { force: true });
    }
    const logged = JSON.parse((await nbferry(['log', store, '--json'])).stdout) as LogDoc;
    expect(logged.checkpoints).toHaveLength(CELLS.length);
  });

  it('gc --keep N deletes the older checkpoints and the chunks only they referenced; log then lists the rest', async () => {
    const result = await nbferry(['gc', store, '--keep', '2', '--json']);
    expect(result.code, result.stderr).toBe(0);
    const document = JSON.parse(result.stdout) as { deletedCheckpoints: string[]; keptCheckpoints: string[]; deletedChunks: number; freedBytes: number; swept: boolean };
    assertDocument('gc', document);
    const ids = history.checkpoints.map((e) => e.id);
    expect(document.deletedCheckpoints).toEqual(ids.slice(0, 2));
    expect(document.keptCheckpoints).toEqual(ids.slice(2));
    expect(document.swept).toBe(true);
    // `noise` before cell 3 was referenced only by the deleted checkpoints.
    expect(document.deletedChunks).toBeGreaterThan(0);
    expect(document.freedBytes).toBeGreaterThan(0);
    const text = await nbferry(['log', store]);
    expect(text.stdout.trim().split('\n').map((l) => l.split(' ')[0])).toEqual(ids.slice(2));

    const again = await nbferry(['gc', store, '--keep', '2']);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toContain('deleted no checkpoint');
    expect(again.stdout).toContain('deleted 0 unreferenced chunk(s)');
  });

  it('log exits 1 and lists a checkpoint that cannot be read, with why', async () => {
    const last = history.checkpoints.at(-1)!;
    await writeFile(join(store, 'checkpoints', last.id, 'manifest.nbf'), 'not a manifest');
    const result = await nbferry(['log', store, '--json']);
    expect(result.code).toBe(1);
    const document = JSON.parse(result.stdout) as LogDoc;
    assertDocument('log', document);
    expect(document.ok).toBe(false);
    expect(document.checkpoints.find((e) => e.id === last.id)!.error).toMatch(/damaged|manifest/);
  });
});
