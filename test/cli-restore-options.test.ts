// restore and migrate options on real kernels: where a fresh kernel starts (--cwd,
// --cwd-from-checkpoint), a running target's own variables (--replace-existing), and values a
// rerun brings back different (exit 1 and a report that says so, unless --allow-different).
import { realpathSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { attachKernel, launchKernel } from '@nbferry/kernel';
import { nbferry } from './support/cli.js';
import { notebook } from './support/notebook.js';
import { testPython } from './support/python.js';
import { assertDocument } from './support/schemas.js';

interface RestoreDoc {
  ok: boolean;
  connectionFile: string;
  totals: Record<string, number>;
  variables: { name: string; outcome: string }[];
}

/** The working directory of the restored kernel the document names; shuts that kernel down. */
async function kernelCwd(document: RestoreDoc): Promise<string> {
  const kernel = await attachKernel(document.connectionFile);
  try {
    return (await kernel.client.execute('import os\nprint(os.getcwd(), end="")')).stdout;
  } finally {
    await kernel.client.shutdown();
  }
}

describe('nbferry restore options', () => {
  let dir: string;
  let source: string;
  let store: string;
  beforeAll(async () => {
    dir = realpathSync(await mkdtemp(join(tmpdir(), 'nbf-cli-restore-')));
    source = join(dir, 'source');
    await mkdir(source);
    await mkdir(join(dir, 'elsewhere'));
    await writeFile(join(source, 'nb.ipynb'), notebook(['x = [1, 2, 3]', 'y = sum(x)']));
    store = join(dir, 'store');
    const run = await nbferry(['run', join(source, 'nb.ipynb'), '--python', testPython(), '--checkpoint', store, '--quiet']);
    expect(run.code, run.stderr).toBe(0);
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("starts a fresh kernel in the caller's directory, --cwd, or the checkpoint's only with --cwd-from-checkpoint", async () => {
    const caller = join(dir, 'elsewhere');
    const plain = await nbferry(['restore', store, '--python', testPython(), '--json'], { cwd: caller });
    expect(plain.code, plain.stderr).toBe(0);
    const plainDoc = JSON.parse(plain.stdout) as RestoreDoc;
    assertDocument('restore', plainDoc);
    expect(await kernelCwd(plainDoc)).toBe(caller);

    const consented = await nbferry(['restore', store, '--python', testPython(), '--cwd-from-checkpoint', '--json'], { cwd: caller });
    expect(consented.code, consented.stderr).toBe(0);
    expect(await kernelCwd(JSON.parse(consented.stdout) as RestoreDoc)).toBe(source);

    const chosen = await nbferry(['restore', store, '--python', testPython(), '--cwd', dir, '--json'], { cwd: caller });
    expect(chosen.code, chosen.stderr).toBe(0);
    expect(await kernelCwd(JSON.parse(chosen.stdout) as RestoreDoc)).toBe(dir);

    const both = await nbferry(['restore', store, '--cwd', dir, '--cwd-from-checkpoint']);
    expect(both.code).toBe(2);
    expect(both.stderr).toMatch(/cannot be used with option '--cwd-from-checkpoint'/);
    const notDir = await nbferry(['restore', store, '--python', testPython(), '--cwd', join(dir, 'missing')]);
    expect(notDir.code).toBe(2);
    expect(notDir.stderr).toMatch(/--cwd .*missing is not a directory/);
  });

  it('into a running kernel that holds the names: refused (4, says --replace-existing), then replaced when asked', async () => {
    const kernel = await launchKernel({ python: testPython(), cwd: dir });
    try {
      await kernel.client.execute('x = "mine"\nmy_work = 7');
      const refused = await nbferry(['restore', store, '--connection-file', kernel.connectionFile, '--json']);
      expect(refused.code).toBe(4);
      const error = JSON.parse(refused.stdout) as { code: string; message: string };
      assertDocument('error', error);
      expect(error.code).toBe('TARGET_NAMESPACE_CONFLICT');
      expect(error.message).toMatch(/already has variables the checkpoint would overwrite or delete: x\b/);
      expect(error.message).toMatch(/--replace-existing/);
      expect((await kernel.client.execute('print(x, my_work)')).stdout).toBe('mine 7\n');

      const replaced = await nbferry(['restore', store, '--connection-file', kernel.connectionFile, '--replace-existing', '--json']);
      expect(replaced.code, replaced.stderr).toBe(0);
      const document = JSON.parse(replaced.stdout) as RestoreDoc;
      assertDocument('restore', document);
      expect(document.ok).toBe(true);
      // The checkpoint's names are replaced; the kernel's other work is untouched.
      expect((await kernel.client.execute('print(x, y, my_work)')).stdout).toBe('[1, 2, 3] 6 7\n');
    } finally {
      await kernel.dispose();
    }
  });

  it('a value a rerun brings back different: exit 1 and "1 different, 0 lost" (restore), 0 with --allow-different', async () => {
    const data = join(dir, 'data');
    await mkdir(data);
    await writeFile(join(data, 'data.txt'), 'first line\n');
    // The open file cannot be saved: its cell is rerun at restore, and `head` with it.
    await writeFile(join(data, 'nb.ipynb'), notebook(['fh = open("data.txt")\nhead = fh.readline()']));
    const differentStore = join(dir, 'different-store');
    const run = await nbferry(['run', join(data, 'nb.ipynb'), '--python', testPython(), '--checkpoint', differentStore, '--quiet']);
    expect(run.code, run.stderr).toBe(0);
    await writeFile(join(data, 'data.txt'), 'edited since\n');

    const json = await nbferry(['restore', differentStore, '--python', testPython(), '--json'], { cwd: data });
    expect(json.code, json.stderr).toBe(1);
    const document = JSON.parse(json.stdout) as RestoreDoc;
    assertDocument('restore', document);
    expect(document.ok).toBe(false);
    expect(document.totals).toMatchObject({ 'recomputed-different': 1, lost: 0 });
    expect(document.variables.find((v) => v.name === 'head')!.outcome).toBe('recomputed-different');
    await attachKernel(document.connectionFile).then((k) => k.client.shutdown());

    const text = await nbferry(['restore', differentStore, '--python', testPython()], { cwd: data });
    expect(text.code, text.stderr).toBe(1);
    expect(text.stdout).toMatch(/Not whole: 1 variable\(s\) came back DIFFERENT \(a rerun produced another value\), 0 variable\(s\) LOST\./);
    expect(text.stdout).toMatch(/--allow-different accepts them/);
    expect(text.stdout).not.toMatch(/Nothing was lost/);
    await attachKernel(text.stdout.match(/--existing (\S+)/)![1]!).then((k) => k.client.shutdown());

    // From another directory the rerun finds no data.txt: not whole, and the hint names the checkpoint's directory.
    const away = await nbferry(['restore', differentStore, '--python', testPython()], { cwd: join(dir, 'elsewhere') });
    expect(away.code).toBe(1);
    expect(away.stderr).toContain(`the checkpoint was taken in ${data}. If reruns read files by relative path, restore with --cwd DIR`);
    await attachKernel(away.stdout.match(/--existing (\S+)/)![1]!).then((k) => k.client.shutdown());

    const accepted = await nbferry(['restore', differentStore, '--python', testPython(), '--allow-different'], { cwd: data });
    expect(accepted.code, accepted.stderr).toBe(0);
    expect(accepted.stdout).toMatch(/Nothing was lost; 1 variable\(s\) came back DIFFERENT .*, accepted with --allow-different\./);
    await attachKernel(accepted.stdout.match(/--existing (\S+)/)![1]!).then((k) => k.client.shutdown());
  });

  it('migrate: a value that comes back different is exit 1 and reported as different, not "0 lost"; --allow-different accepts it', async () => {
    const data = join(dir, 'migrate-data');
    await mkdir(data);
    await writeFile(join(data, 'data.txt'), 'first line\n');
    // Cell 1 is rerun at restore (the open file cannot be saved) and reads what a subprocess of
    // cell 2 wrote since. (Had a cell written the file itself, head would be saved instead.)
    await writeFile(
      join(data, 'nb.ipynb'),
      notebook(['fh = open("data.txt")\nhead = fh.readline()', 'import subprocess\nsubprocess.run(["sh", "-c", "echo changed > data.txt"], check=True)']),
    );
    const text = await nbferry(['migrate', join(data, 'nb.ipynb'), '--python', testPython()]);
    expect(text.code, text.stderr).toBe(1);
    expect(text.stdout).toMatch(/head +recomputed-different/);
    expect(text.stdout).toMatch(/Not whole: 1 variable\(s\) came back DIFFERENT \(a rerun produced another value\), 0 variable\(s\) LOST\./);

    await writeFile(join(data, 'data.txt'), 'first line\n');
    const accepted = await nbferry(['migrate', join(data, 'nb.ipynb'), '--python', testPython(), '--allow-different', '--json']);
    expect(accepted.code, accepted.stderr).toBe(0);
    const document = JSON.parse(accepted.stdout) as { ok: boolean; restore: RestoreDoc };
    assertDocument('migrate', document);
    expect(document.ok).toBe(true);
    expect(document.restore.totals).toMatchObject({ 'recomputed-different': 1, lost: 0 });
  });
});
