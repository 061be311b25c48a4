// The nbferry command end to end, on real kernels: run --checkpoint, inspect, restore, checkpoint, migrate;
// every --json document checked against its schema (packages/cli/schemas/*.schema.json).
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { attachKernel, launchKernel } from '@nbferry/kernel';
import { nbferry } from './support/cli.js';
import { notebook } from './support/notebook.js';
import { repoRoot, testPython } from './support/python.js';
import { assertDocument } from './support/schemas.js';

interface CheckpointDoc {
  committed: boolean;
  id: string | null;
  path: string | null;
  bytes: number;
  lossless: boolean;
  unrecoverable: { name: string; reason: string }[];
}

describe('nbferry CLI', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'nbf-cli-'));
    await writeFile(join(dir, 'input.csv'), 'a\n1\n2\n3\n');
    await writeFile(
      join(dir, 'nb.ipynb'),
      notebook(
        [
          'import csv, time\nrows = [int(r["a"]) for r in csv.DictReader(open("input.csv"))]',
          'time.sleep(0.3)\ntotal = sum(rows)',
          'gen = iter(rows)',
          'raise RuntimeError("expected")',
          'after = total + 1',
        ],
        { 3: ['raises-exception'] },
      ),
    );
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('migrate: runs past a declared failing cell, restores, verifies, and reports every variable as JSON', async () => {
    const result = await nbferry(['migrate', join(dir, 'nb.ipynb'), '--python', testPython(), '--json']);
    expect(result.code, result.stderr).toBe(0);
    const report = JSON.parse(result.stdout) as { ok: boolean; checkpoint: CheckpointDoc; restore: { ok: boolean; connectionFile: string | null; variables: { name: string; outcome: string }[] } };
    assertDocument('migrate', report);
    expect(report.ok).toBe(true);
    // The temporary store is gone when the command ends: the document names no path to it.
    expect(report.checkpoint).toMatchObject({ committed: true, path: null, lossless: true });
    expect(report.restore.connectionFile).toBeNull();
    const outcomes = Object.fromEntries(report.restore.variables.map((v) => [v.name, v.outcome]));
    expect(Object.keys(outcomes).sort()).toEqual(['after', 'csv', 'gen', 'rows', 'time', 'total']);
    expect(outcomes.total).toMatch(/restored|recomputed-equal/);
    expect(outcomes.gen).not.toBe('lost');
  });

  it('migrate --store keeps the checkpoint and names it', async () => {
    const store = join(dir, 'kept-store');
    const result = await nbferry(['migrate', join(dir, 'nb.ipynb'), '--python', testPython(), '--store', store, '--json']);
    expect(result.code, result.stderr).toBe(0);
    const report = JSON.parse(result.stdout) as { checkpoint: CheckpointDoc };
    assertDocument('migrate', report);
    expect(report.checkpoint.path).toContain(store);
    expect((await readdir(report.checkpoint.path!)).length).toBeGreaterThan(0);
  });

  it('run --checkpoint, inspect, then restore into a fresh kernel that outlives the command', async () => {
    const store = join(dir, 'store');
    const run = await nbferry(['run', join(dir, 'nb.ipynb'), '--checkpoint', store, '--python', testPython(), '--json']);
    expect(run.code, run.stderr).toBe(0);
    const ran = JSON.parse(run.stdout) as { checkpoint: CheckpointDoc; failedCell: number | null };
    assertDocument('run', ran);
    expect(ran.checkpoint).toMatchObject({ committed: true, lossless: true, unrecoverable: [] });
    expect(ran.failedCell).toBeNull();

    const inspected = await nbferry(['inspect', store, '--json']);
    expect(inspected.code, inspected.stderr).toBe(0);
    const info = JSON.parse(inspected.stdout) as { ok: boolean; checkpoint: CheckpointDoc; blobs: { intact: boolean }[]; environment: { python: string } };
    assertDocument('inspect', info);
    expect(info.ok).toBe(true);
    expect(info.blobs.every((b) => b.intact)).toBe(true);
    expect(info.environment.python).toMatch(/^3\./);
    // The same checkpoint object, whichever command describes it.
    expect(info.checkpoint.id).toBe(ran.checkpoint.id);
    expect(info.checkpoint.path).toBe(ran.checkpoint.path);
    expect(info.checkpoint.bytes).toBe(ran.checkpoint.bytes);

    // Reruns read input.csv relative to the kernel's directory: restore from where the data is.
    const restored = await nbferry(['restore', store, '--python', testPython(), '--json'], { cwd: dir });
    expect(restored.code, restored.stderr).toBe(0);
    const document = JSON.parse(restored.stdout) as { connectionFile: string; totals: { lost: number } };
    assertDocument('restore', document);
    expect(document.totals.lost).toBe(0);
    // The restored kernel is still running after the command exited: attach and use it.
    const kernel = await attachKernel(document.connectionFile);
    try {
      const check = await kernel.client.execute('print(after, sum(rows))');
      expect(check.stdout).toBe('7 6\n');
    } finally {
      await kernel.client.shutdown();
    }
  });

  it('takes the Python from $NBFERRY_PYTHON when --python is not given', async () => {
    const nb = join(dir, 'env.ipynb');
    await writeFile(nb, notebook(['x = 1']));
    const missing = join(dir, 'no-such-python');
    const result = await nbferry(['run', nb], { env: { NBFERRY_PYTHON: missing } });
    expect(result.code, result.stderr).toBe(3);
    expect(result.stderr).toContain(`cannot start kernel process "${missing}"`);
  });

  it('checkpoint --connection-file checkpoints a running kernel and leaves it running', async () => {
    const kernel = await launchKernel({ python: testPython(), cwd: dir });
    try {
      await kernel.client.execute('import time\ntime.sleep(0.2)\nanswer = 42');
      const store = join(dir, 'live-store');
      const result = await nbferry(['checkpoint', '--connection-file', kernel.connectionFile, '--out', store, '--json']);
      expect(result.code, result.stderr).toBe(0);
      const document = JSON.parse(result.stdout) as CheckpointDoc;
      assertDocument('checkpoint', document);
      expect(document.bytes).toBeGreaterThan(0);
      expect(document.committed).toBe(true);
      expect((await kernel.client.execute('answer')).outputs[0]).toMatchObject({ data: { 'text/plain': '42' } });
    } finally {
      await kernel.dispose();
    }
  });

  it('checkpoint names what it cannot bring back, refuses to write it (exit 1) unless --allow-loss', async () => {
    const kernel = await launchKernel({ python: testPython(), cwd: dir });
    const store = join(dir, 'loss-store');
    try {
      await kernel.client.execute('answer = 42');
      const first = await nbferry(['checkpoint', '--connection-file', kernel.connectionFile, '--out', store, '--json']);
      expect(first.code, first.stderr).toBe(0);
      const good = JSON.parse(first.stdout) as CheckpointDoc;

      // A live generator made outside any recorded cell (a silent execute): nothing can recompute
      // it and generators cannot be pickled.
      await kernel.client.execute('stream = (i * i for i in range(10))\nnext(stream)', { silent: true });
      const refused = await nbferry(['checkpoint', '--connection-file', kernel.connectionFile, '--out', store, '--json']);
      expect(refused.code, refused.stderr).toBe(1);
      const document = JSON.parse(refused.stdout) as CheckpointDoc;
      assertDocument('checkpoint', document);
      expect(document).toMatchObject({ committed: false, id: null, path: null, lossless: false });
      expect(document.unrecoverable.map((u) => u.name)).toEqual(['stream']);
      expect(document.unrecoverable[0]!.reason).toMatch(/generator/);
      // Nothing was written: the store still holds only the good checkpoint, and LATEST points to it.
      const inspected = JSON.parse((await nbferry(['inspect', store, '--json'])).stdout) as { checkpointsInStore: string[]; checkpoint: CheckpointDoc };
      expect(inspected.checkpointsInStore).toEqual([good.id]);
      expect(inspected.checkpoint.id).toBe(good.id);

      const text = await nbferry(['checkpoint', '--connection-file', kernel.connectionFile, '--out', store]);
      expect(text.code).toBe(1);
      expect(text.stdout).toMatch(/REFUSED: this checkpoint would not bring back 1 variable/);
      expect(text.stdout).toMatch(/ {2}stream: .*generator/);
      expect(text.stdout).toMatch(/--allow-loss/);

      const allowed = await nbferry(['checkpoint', '--connection-file', kernel.connectionFile, '--out', store, '--allow-loss', '--json']);
      expect(allowed.code, allowed.stderr).toBe(0);
      const lossy = JSON.parse(allowed.stdout) as CheckpointDoc;
      assertDocument('checkpoint', lossy);
      expect(lossy).toMatchObject({ committed: true, lossless: false });
      expect(lossy.unrecoverable.map((u) => u.name)).toEqual(['stream']);
      // The user's kernel is untouched.
      expect((await kernel.client.execute('print(next(stream), answer)')).stdout).toBe('1 42\n');
    } finally {
      await kernel.dispose();
    }
  });
  it('run --checkpoint refuses a checkpoint that would lose a variable unless --allow-loss', async () => {
    // A live generator made by a cell that then failed (as declared): a failed cell is never
    // rerun, so nothing can recompute it, and generators cannot be pickled.
    const nb = join(dir, 'outside.ipynb');
    await writeFile(nb, notebook(['kept = [1, 2, 3]', 'feed = (x * 2 for x in kept)\nraise RuntimeError("expected")', 'later = len(kept)'], { 1: ['raises-exception'] }));
    const store = join(dir, 'outside-store');
    const refused = await nbferry(['run', nb, '--checkpoint', store, '--python', testPython(), '--json']);
    expect(refused.code, refused.stderr).toBe(1);
    const document = JSON.parse(refused.stdout) as { failedCell: number | null; checkpoint: CheckpointDoc };
    assertDocument('run', document);
    expect(document.failedCell).toBeNull();
    expect(document.checkpoint).toMatchObject({ committed: false, path: null });
    expect(document.checkpoint.unrecoverable.map((u) => u.name)).toEqual(['feed']);
    expect((await nbferry(['inspect', store])).code).toBe(4); // nothing was written

    const text = await nbferry(['run', nb, '--checkpoint', store, '--python', testPython(), '--quiet', '--allow-loss']);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toMatch(/WARNING: this checkpoint cannot bring back 1 variable\(s\) \(accepted with --allow-loss\):\n {2}feed: /);
  });
});

describe('nbferry command line', () => {
  it('--version prints the package version', async () => {
    const { version } = JSON.parse(readFileSync(join(repoRoot, 'packages/cli/package.json'), 'utf8')) as { version: string };
    const result = await nbferry(['--version']);
    expect(result.code).toBe(0);
    expect(result.stdout.trim()).toBe(version);
  });

  it('<command> --help shows that command\'s own options and the exit statuses', async () => {
    const result = await nbferry(['checkpoint', '--help']);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/Usage: nbferry checkpoint/);
    for (const option of ['--connection-file <file>', '--out <dir>', '--deadline <seconds>', '--allow-loss', '--json', '--progress <mode>']) {
      expect(result.stdout).toContain(option);
    }
    expect(result.stdout).not.toContain('--graph');
    expect(result.stdout).toMatch(/Exit status:[\s\S]*130/);
    const top = await nbferry(['--help']);
    expect(top.code).toBe(0);
    for (const command of ['migrate', 'run', 'record', 'checkpoint', 'restore', 'inspect']) expect(top.stdout).toContain(command);
  });

  it('a mistyped option is a usage error that suggests the closest and lists the valid ones', async () => {
    const result = await nbferry(['checkpoint', '--conection-file', 'k.json', '--out', 'store']);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/unknown option '--conection-file'/);
    expect(result.stderr).toMatch(/Did you mean --connection-file\?/);
    expect(result.stderr).toMatch(/nbferry checkpoint accepts: --connection-file <file>, --out <dir>, --deadline <seconds>/);
  });

  it('an unknown command suggests the closest', async () => {
    const result = await nbferry(['migrat', 'nb.ipynb']);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/unknown command 'migrat'/);
    expect(result.stderr).toMatch(/Did you mean migrate\?/);
  });

  it('bad values and missing inputs are usage errors (2) that say what is accepted', async () => {
    const deadline = await nbferry(['checkpoint', '--connection-file', 'k.json', '--out', 'store', '--deadline', 'abc']);
    expect(deadline.code).toBe(2);
    expect(deadline.stderr).toMatch(/--deadline <seconds>' argument 'abc' is invalid. expected a number of seconds greater than 0/);
    const missingOption = await nbferry(['checkpoint', '--out', 'store']);
    expect(missingOption.code).toBe(2);
    expect(missingOption.stderr).toMatch(/needs --connection-file/);
    const noNotebook = await nbferry(['migrate']);
    expect(noNotebook.code).toBe(2);
    expect(noNotebook.stderr).toMatch(/missing required argument 'notebook'/);
    const progress = await nbferry(['restore', 'store', '--progress', 'loud']);
    expect(progress.code).toBe(2);
    expect(progress.stderr).toMatch(/Allowed choices are auto, text, json, none/);
  });

  it('a missing notebook is a usage error, not a raw ENOENT, in text and as an nbferry/error@1 document', async () => {
    const text = await nbferry(['run', '/nonexistent/nb.ipynb']);
    expect(text.code).toBe(2);
    expect(text.stderr).toMatch(/UsageError: nbferry run: no notebook at \/nonexistent\/nb.ipynb \(the file does not exist\)/);
    expect(text.stderr).not.toMatch(/ENOENT/);
    const json = await nbferry(['migrate', '/nonexistent/nb.ipynb', '--json']);
    expect(json.code).toBe(2);
    const error = JSON.parse(json.stdout) as { code: string };
    assertDocument('error', error);
    expect(error.code).toBe('USAGE');
  });

  it('a missing store is a checkpoint failure (4) with the typed error', async () => {
    const missing = await nbferry(['restore', join(tmpdir(), 'nbf-no-such-store'), '--python', testPython(), '--json']);
    expect(missing.code).toBe(4);
    expect(missing.stderr).toMatch(/CheckpointNotFoundError: no checkpoint at .*nbf-no-such-store/);
    const error = JSON.parse(missing.stdout) as { code: string; exitCode: number };
    assertDocument('error', error);
    expect(error).toMatchObject({ code: 'CHECKPOINT_NOT_FOUND', exitCode: 4 });
    const inspect = await nbferry(['inspect', join(tmpdir(), 'nbf-no-such-store')]);
    expect(inspect.code).toBe(4);
  });

  it('a kernel that cannot start or be reached is a kernel failure (3)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'nbf-cli-'));
    try {
      await writeFile(join(dir, 'nb.ipynb'), notebook(['x = 1']));
      const noPython = await nbferry(['run', join(dir, 'nb.ipynb'), '--python', join(dir, 'no-python'), '--json']);
      expect(noPython.code).toBe(3);
      expect(noPython.stderr).toMatch(/KernelStartError: cannot start kernel process/);
      const error = JSON.parse(noPython.stdout) as { code: string };
      assertDocument('error', error);
      expect(error.code).toBe('KERNEL_START_FAILED');
      await writeFile(join(dir, 'kernel.json'), '{"not": "a connection file"}');
      const badConnection = await nbferry(['checkpoint', '--connection-file', join(dir, 'kernel.json'), '--out', join(dir, 'store')]);
      expect(badConnection.code).toBe(3);
      expect(badConnection.stderr).toMatch(/ConnectionFileError/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('a notebook that is not JSON is a usage error', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'nbf-cli-'));
    try {
      await mkdir(join(dir, 'folder.ipynb'));
      await writeFile(join(dir, 'bad.ipynb'), 'not json');
      const bad = await nbferry(['run', join(dir, 'bad.ipynb'), '--python', testPython()]);
      expect(bad.code).toBe(2);
      expect(bad.stderr).toMatch(/NotebookFormatError/);
      const folder = await nbferry(['run', join(dir, 'folder.ipynb')]);
      expect(folder.code).toBe(2);
      expect(folder.stderr).toMatch(/is not a file/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
