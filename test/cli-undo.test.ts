// nbferry undo / checkout on the command line (issue 12), real kernels: each command is its own
// process, so the kernel's last checkpoint must come from the kernel; only the groups that differ
// come back, names created since are deleted, every variable is verified; errors are typed.
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { nbferry } from './support/cli.js';
import { runCell, useKernelSandbox, valueOf } from './support/kernel-sandbox.js';
import { assertDocument } from './support/schemas.js';

interface CheckoutDoc {
  ok: boolean;
  command: string;
  checkpointId: string;
  fromCheckpointId: string | null;
  groups: Record<'reloaded' | 'kept' | 'recomputed', { id: string; names: string[]; bytes: number }[]>;
  deleted: string[];
  variables: { name: string; outcome: string }[];
  timings: { commandMs: number };
}

const json = <T>(stdout: string) => JSON.parse(stdout) as T;

describe('nbferry undo and checkout', () => {
  const sandbox = useKernelSandbox('nbf-cli-undo-');
  const kernel = sandbox.kernel;
  let dir: string;
  beforeEach(() => {
    dir = sandbox.dir();
  });

  it('undo (a new process each time) goes back one cell keeping the unchanged groups; checkout goes anywhere; log shows the branch', async () => {
    const store = join(dir, 'store');
    const k = await kernel();
    const conn = k.connectionFile;
    const checkpointCli = async () => {
      const r = await nbferry(['checkpoint', '--connection-file', conn, '--out', store, '--json']);
      expect(r.code, r.stderr).toBe(0);
      return json<{ id: string; parent?: string | null }>(r.stdout);
    };
    await runCell(k.client, 'import os, numpy as np\nbig = np.frombuffer(os.urandom(16 << 20), dtype=np.uint8).copy()\nx = int.from_bytes(os.urandom(6), "big")');
    const c1 = await checkpointCli();
    const x1 = await valueOf(k.client, 'x');
    await runCell(k.client, 'x = x + 1\ncreated = [1, 2]');
    const c2 = await checkpointCli();

    const undone = await nbferry(['undo', store, '--kernel', conn, '--json']);
    expect(undone.code, undone.stderr).toBe(0);
    const doc = json<CheckoutDoc>(undone.stdout);
    assertDocument('checkout', doc);
    expect(doc).toMatchObject({ ok: true, command: 'undo', checkpointId: c1.id, fromCheckpointId: c2.id, deleted: ['created'] });
    expect(doc.groups.kept.flatMap((g) => g.names)).toContain('big');
    expect(doc.groups.reloaded.flatMap((g) => g.names)).not.toContain('big');
    expect(doc.variables.find((v) => v.name === 'x')?.outcome).toBe('restored');
    expect(await valueOf(k.client, 'x')).toBe(x1);
    expect(await valueOf(k.client, 'created')).toBeUndefined();

    // Working on after the undo (another process again): a branch off c1.
    await runCell(k.client, 'y = 5');
    const branch = await checkpointCli();
    const logged = json<{ checkpoints: { id: string; parent: string | null; children: string[] }[] }>((await nbferry(['log', store, '--json'])).stdout);
    expect(logged.checkpoints.find((c) => c.id === branch.id)?.parent).toBe(c1.id);
    expect(logged.checkpoints.find((c) => c.id === c1.id)?.children.sort()).toEqual([c2.id, branch.id].sort());

    // Checkout the other line's head, in text form.
    const text = await nbferry(['checkout', store, '--checkpoint', c2.id, '--kernel', conn]);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toContain(`checkout: kernel now at checkpoint ${c2.id} (was at ${branch.id})`);
    expect(text.stdout).toMatch(/groups kept \d+: .*big/);
    expect(text.stdout).toContain('names deleted 1: y');
    expect(text.stdout).toMatch(/checkout took \d/);
    expect(await valueOf(k.client, 'x')).toBe(String(Number(x1) + 1));
    expect(await valueOf(k.client, 'y')).toBeUndefined();
  }, 300_000);

  it('says clearly when there is nothing to undo, the kernel was not recorded, or the checkpoint id is unknown', async () => {
    const store = join(dir, 'store');
    const k = await kernel();
    await runCell(k.client, 'a = 1');
    // No store yet.
    const none = await nbferry(['undo', store, '--kernel', k.connectionFile, '--json']);
    expect(none.code).toBe(4);
    expect(json<{ code: string }>(none.stdout).code).toBe('CHECKPOINT_NOT_FOUND');

    // A store, but this kernel was never recorded: the shim is installed by the undo itself.
    const other = await kernel();
    await runCell(other.client, 'b = 2');
    const otherCheckpoint = await nbferry(['checkpoint', '--connection-file', other.connectionFile, '--out', store, '--json']);
    expect(otherCheckpoint.code, otherCheckpoint.stderr).toBe(0);
    const otherId = json<{ id: string }>(otherCheckpoint.stdout).id;
    const unrecorded = await nbferry(['undo', store, '--kernel', k.connectionFile, '--json']);
    expect(unrecorded.code).toBe(4);
    const error = json<{ code: string; message: string }>(unrecorded.stdout);
    assertDocument('error', error);
    expect(error.code).toBe('KERNEL_NOT_RECORDED');
    expect(error.message).toContain('nbferry checkpoint --connection-file');

    // Recorded now (attached by the failed undo) and checkpointed once: the first of its line.
    expect((await nbferry(['checkpoint', '--connection-file', k.connectionFile, '--out', store])).code).toBe(0);
    const first = await nbferry(['undo', store, '--kernel', k.connectionFile]);
    expect(first.code).toBe(4);
    expect(first.stderr).toContain('is the first of its line');
    expect(await valueOf(k.client, 'a')).toBe('1');

    // Another kernel's checkpoint is fine: this kernel takes that state and continues that line.
    const across = await nbferry(['checkout', store, '--checkpoint', otherId, '--kernel', k.connectionFile, '--json']);
    expect(across.code, across.stderr).toBe(0);
    expect(json<CheckoutDoc>(across.stdout)).toMatchObject({ ok: true, checkpointId: otherId, deleted: ['a'] });
    expect(await valueOf(k.client, 'b')).toBe('2');
    await runCell(k.client, 'c = b + 1');
    const continued = await nbferry(['checkpoint', '--connection-file', k.connectionFile, '--out', store, '--json']);
    const continuedId = json<{ id: string }>(continued.stdout).id;
    const logged = json<{ checkpoints: { id: string; parent: string | null }[] }>((await nbferry(['log', store, '--json'])).stdout);
    expect(logged.checkpoints.find((c) => c.id === continuedId)?.parent).toBe(otherId);

    const unknown = await nbferry(['checkout', store, '--checkpoint', 'nope', '--kernel', k.connectionFile]);
    expect(unknown.code).toBe(4);
    expect(unknown.stderr).toContain('nbferry log');
    const usage = await nbferry(['checkout', store, '--kernel', k.connectionFile]);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain('--checkpoint ID');
  }, 300_000);
});
