// The recorder on real kernels: what it records, from whom, and across re-attaching and restarts.
import { execFile } from 'node:child_process';
import { appendFile, cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { attachKernel, launchKernel, type Kernel } from '@nbferry/kernel';
import { Recorder, ShimInjectionError, type HistoryGraphJson } from '@nbferry/recorder';
import { repoRoot, testPython } from './support/python.js';

const sets = (graph: Recorder['graph']) =>
  graph.executions.map((r) => ({ read: r.reads, created: r.created, modified: r.modified, deleted: r.deleted }));

describe('Recorder', () => {
  let kernel: Kernel;
  beforeEach(async () => {
    kernel = await launchKernel({ python: testPython() });
  });
  afterEach(async () => {
    await kernel.dispose();
  });

  it('records read, created, modified and deleted names per cell, in order', async () => {
    const recorder = await Recorder.attach(kernel.client);
    for (const code of ['a = [1]\nb = 2', 'a.append(b)', 'c = len(a)\ndel b']) await kernel.client.execute(code);
    await recorder.sync();
    expect(sets(recorder.graph)).toEqual([
      { read: [], created: ['a', 'b'], modified: [], deleted: [] },
      { read: ['a', 'b'], created: [], modified: ['a'], deleted: [] },
      { read: ['a'], created: ['c'], modified: [], deleted: ['b'] },
    ]);
    expect(recorder.graph.liveNames()).toEqual(['a', 'c']);
  });

  it('does not record its own or other silent executes, and keeps the user namespace clean', async () => {
    const recorder = await Recorder.attach(kernel.client);
    await kernel.client.execute('x = 1', { silent: true });
    await kernel.client.execute('y = 2');
    await recorder.sync();
    expect(recorder.graph.executions.filter((r) => r.kind === 'cell').map((r) => r.code)).toEqual(['y = 2']);
    const names = await kernel.client.execute('', {
      silent: true,
      userExpressions: { n: 'sorted(k for k in get_ipython().user_ns if "nbferry" in k.lower())' },
    });
    expect(names.userExpressions.n).toMatchObject({ status: 'ok', data: { 'text/plain': '[]' } });
  });

  it('sees cells run by another client, and a recorder that attaches later gets the whole history', async () => {
    const first = await Recorder.attach(kernel.client);
    const other = await attachKernel(kernel.connectionFile);
    try {
      await other.client.execute('from_frontend = 40', { cellId: 'cell-abc' });
      await kernel.client.execute('total = from_frontend + 2');
      const late = await Recorder.attach(other.client); // injecting again is harmless
      await first.sync();
      expect(late.graph.toJSON().executions).toEqual(first.graph.toJSON().executions);
      expect(first.graph.executions.map((r) => r.cellId)).toContain('cell-abc');
      expect(late.hello.version).toBe(first.hello.version);
    } finally {
      await other.dispose();
    }
  });

  it("a shim that fails to install is a typed error carrying the kernel's exception; the kernel stays usable", async () => {
    const root = await mkdtemp(join(tmpdir(), 'nbf-broken-shim-'));
    try {
      await cp(join(repoRoot, 'python-shim', 'src'), join(root, 'src'), { recursive: true });
      await cp(join(repoRoot, 'python-shim', 'inject.py.tmpl'), join(root, 'inject.py.tmpl'));
      await appendFile(join(root, 'src', 'nbferry_shim', 'recorder.py'), '\nraise RuntimeError("broken on purpose")\n');
      const error = await Recorder.attach(kernel.client, { shimRoot: root }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(ShimInjectionError);
      expect((error as ShimInjectionError).message).toContain('RuntimeError: broken on purpose');
      const after = await kernel.client.execute('ok = 1 + 1\nok');
      expect(after.status).toBe('ok');
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });

  it('installs itself again after a kernel restart and starts a new history', async () => {
    const recorder = await Recorder.attach(kernel.client);
    await kernel.client.execute('before = 1');
    await kernel.client.restart();
    await kernel.client.execute('after = 2');
    await recorder.sync();
    expect(recorder.graph.executions.map((r) => r.created)).toEqual([['after']]);
  });
});

describe('nbferry record', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'nbf-record-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('runs a notebook and writes its history graph as JSON and DOT', async () => {
    const notebook = {
      nbformat: 4,
      nbformat_minor: 5,
      metadata: { kernelspec: { name: 'python3' } },
      cells: [
        { cell_type: 'code', id: 'load', metadata: {}, outputs: [], execution_count: null, source: 'rows = [1, 2, 3]' },
        { cell_type: 'markdown', id: 'md', metadata: {}, source: 'notes' },
        { cell_type: 'code', id: 'grow', metadata: {}, outputs: [], execution_count: null, source: 'rows.append(4)\nn = len(rows)' },
      ],
    };
    await writeFile(join(dir, 'nb.ipynb'), JSON.stringify(notebook));
    await promisify(execFile)(
      process.execPath,
      ['--conditions=source', '--import', 'tsx', join(repoRoot, 'packages/cli/src/main.ts'), 'record', join(dir, 'nb.ipynb'), '--graph', join(dir, 'g.json'), '--dot', join(dir, 'g.dot'), '--python', testPython(), '--quiet'],
      { cwd: repoRoot },
    );
    const graph = JSON.parse(await readFile(join(dir, 'g.json'), 'utf8')) as HistoryGraphJson;
    expect(graph.executions.map((e) => ({ id: e.cellId, code: e.code, read: e.reads, created: e.created, modified: e.modified }))).toEqual([
      { id: 'load', code: 'rows = [1, 2, 3]', read: [], created: ['rows'], modified: [] },
      { id: 'grow', code: 'rows.append(4)\nn = len(rows)', read: ['rows'], created: ['n'], modified: ['rows'] },
    ]);
    expect(await readFile(join(dir, 'g.dot'), 'utf8')).toContain('"var:rows@1" -> "cell:2" [style=dotted]');
  });
});
