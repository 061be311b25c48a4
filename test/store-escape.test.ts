// End to end on real kernels: a blob swapped for a FIFO or a sparse 100 GiB file is refused before
// it is read (the restore finishes and says why), and nothing in a store leads a restore outside it.
import { spawnSync } from 'node:child_process';
import { rm, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { restoreOverWire } from '@nbferry/jupyter-server';
import { checkpoint, restore } from '@nbferry/migrate';
import { Recorder } from '@nbferry/recorder';
import { LocalStore, UnsafeStoreEntryError } from '@nbferry/store';
import { useKernelSandbox } from './support/kernel-sandbox.js';

describe('restoring from a store with hostile entries', () => {
  const sandbox = useKernelSandbox('nbf-escape-');
  const kernel = sandbox.kernel;
  let dir: string;
  beforeEach(() => {
    dir = sandbox.dir();
  });

  /** A store whose checkpoint must load `data` (defined before recording: no cell can recompute it). */
  async function storeThatMustLoadData(): Promise<{ store: string; path: string }> {
    const source = await kernel();
    await source.client.execute('data = list(range(1000))', { silent: true });
    const recorder = await Recorder.attach(source.client);
    const store = join(dir, 'store');
    const saved = await checkpoint(recorder, new LocalStore(store));
    const blob = saved.checkpoint.manifest.blobs.find((b) => b.variables.includes('data'))!;
    return { store, path: saved.checkpoint.blobPath(blob) };
  }

  it('a FIFO or sparse file in place of a blob fails that load at once; the restore completes and says why', async () => {
    const { store, path } = await storeThatMustLoadData();

    for (const plant of ['fifo', 'sparse'] as const) {
      await rm(path, { force: true });
      if (plant === 'fifo') expect(spawnSync('mkfifo', [path]).status).toBe(0);
      else {
        await writeFile(path, '');
        await truncate(path, 100 * 1024 ** 3);
      }
      const target = await kernel();
      const report = await restore(store, target.client);
      const data = report.verification.variables.find((v) => v.name === 'data')!;
      expect(data.outcome).toBe('lost');
      expect(`${report.fallbacks.join('\n')}\n${data.detail}`).toMatch(plant === 'fifo' ? /not a regular file/ : /the manifest says/);
    }
  });

  it('through the wire path (blobs uploaded in chunks) a FIFO blob fails its load too, instead of hanging the upload', async () => {
    const { store, path } = await storeThatMustLoadData();
    await rm(path);
    expect(spawnSync('mkfifo', [path]).status).toBe(0);
    const target = await kernel();
    const report = await restoreOverWire(store, target.client);
    const data = report.verification.variables.find((v) => v.name === 'data')!;
    expect(data.outcome).toBe('lost');
    expect(`${report.fallbacks.join('\n')}\n${data.detail}`).toMatch(/a FIFO, not a regular file/);
  });

  it('refuses a LATEST that points out of the store before starting anything', async () => {
    const store = join(dir, 'store');
    const source = await kernel();
    const recorder = await Recorder.attach(source.client);
    await source.client.execute('x = 1');
    await checkpoint(recorder, new LocalStore(store));
    await writeFile(join(store, 'LATEST'), '../../etc\n');
    const target = await kernel();
    await expect(restore(store, target.client)).rejects.toBeInstanceOf(UnsafeStoreEntryError);
  });
});
