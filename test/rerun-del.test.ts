// A cell that deletes a variable needs it bound: rerunning it when nothing brought the variable
// back raised NameError and lost what the cell makes (issue 17, `del old`). Any value will do, so
// the restore binds a placeholder first (python-shim absent.py), in the foreground and after the
// hand-over alike.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkpoint, restore } from '@nbferry/migrate';
import { Recorder } from '@nbferry/recorder';
import { LocalStore } from '@nbferry/store';
import { runCell, useKernelSandbox, valueOf } from './support/kernel-sandbox.js';

describe('rerunning a cell that deletes a variable', () => {
  const sandbox = useKernelSandbox('nbf-rerun-del-');

  it.each([false, true])('binds a placeholder for it before the rerun (background %s)', async (background) => {
    const source = await sandbox.kernel();
    const recorder = await Recorder.attach(source.client);
    // `lock` cannot be pickled: its cell must rerun, and that cell only deletes `old` (never reads it).
    for (const cell of ['import threading', 'old = list(range(10))', 'lock = threading.Lock()\ndel old']) await runCell(source.client, cell);
    const saved = (await checkpoint(recorder, new LocalStore(join(sandbox.dir(), 'store')))).checkpoint;
    const target = (await sandbox.kernel()).client;
    const report = await restore(saved, target, { background });
    expect(report.fallbacks).toEqual([]);
    expect(report.verification.ok).toBe(true);
    expect(await valueOf(target, 'type(lock).__name__')).toBe("'lock'");
    expect(await valueOf(target, '"old" in dir()')).toBe('False');
  });
});
