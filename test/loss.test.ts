// Issue 13, "data lost or wrong, reported as success": each way a checkpoint or restore could lose
// data or mix states while saying ok, reproduced on real kernels.
import { chmod, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { checkpointOverWire } from '@nbferry/jupyter-server';
import { attachKernel, launchKernel, type ExecuteResult } from '@nbferry/kernel';
import { checkpoint, restore, restoreToNewKernel, StateChangedError, TargetNamespaceConflictError } from '@nbferry/migrate';
import { Recorder } from '@nbferry/recorder';
import { CheckpointWriteError, LocalStore } from '@nbferry/store';
import { Session, useMigrationSandbox } from './support/migration.js';
import { repoRoot, testPython } from './support/python.js';

describe('a checkpoint never commits a lossy or torn state', () => {
  const { start, store } = useMigrationSandbox();

  it('fails with CheckpointWriteError when the kernel hits its file-size limit, and keeps the previous checkpoint', async () => {
    // The kernel runs under RLIMIT_FSIZE = 2 MiB: writing a bigger blob fails with EFBIG.
    const wrapper = join(store(), '..', `limited-python-${process.pid}-${Date.now()}.sh`);
    await writeFile(wrapper, `#!/bin/bash\nulimit -f 2048\nexec ${testPython()} "$@"\n`);
    await chmod(wrapper, 0o755);
    const dir = await (await start()).dir; // a scratch dir the sandbox cleans up
    const kernel = await launchKernel({ python: wrapper, cwd: dir });
    const source = Session.of(kernel, await Recorder.attach(kernel.client), dir);
    try {
      const local = new LocalStore(store());
      await source.run('import os, numpy as np\nsmall = np.frombuffer(os.urandom(1000), dtype=np.uint8)');
      const first = await checkpoint(source.recorder, local);
      // Irreproducible, so the plan must save it: 4 MB, over the limit.
      await source.run('big = np.frombuffer(os.urandom(4_000_000), dtype=np.uint8)');
      const error = await checkpoint(source.recorder, local).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(CheckpointWriteError);
      expect((error as Error).message).toMatch(/EFBIG|File too large/);
      expect(await local.latestId()).toBe(first.checkpoint.manifest.id);
      expect(await local.list()).toEqual([first.checkpoint.manifest.id]);
      expect(await readdir(join(store(), '.staging')).catch(() => [])).toEqual([]);
      expect(await Promise.all(first.checkpoint.manifest.blobs.map((b) => first.checkpoint.verifyBlob(b)))).not.toContain(false);
    } finally {
      await kernel.dispose();
    }
  });

  it.each([
    ['by the kernel', checkpoint],
    ['over the wire (comm buffers)', checkpointOverWire],
  ] as const)('redoes a checkpoint written %s when a cell runs between measuring and saving, so the saved state is one cut', async (_, write) => {
    const source = await start();
    await source.run('import os\ntoken = os.urandom(8).hex()');
    const local = new LocalStore(store());
    let late: Promise<ExecuteResult> | undefined;
    const saved = await write(source.recorder, local, {
      onProgress: (event) => {
        // The user's cell goes out just before the save request: the kernel runs it in between.
        if (event.phase === 'save' && !late) late = source.kernel.client.execute('token = "changed"\nlate = 1');
      },
    });
    expect((await late!).status).toBe('ok');
    const body = saved.checkpoint.manifest.body as { fingerprints: { values: Record<string, string | null> } };
    expect(Object.keys(body.fingerprints.values)).toContain('late');
    const target = await launchKernel({ python: testPython(), cwd: source.dir });
    try {
      const report = await restore(saved.checkpoint, target.client);
      expect(report.verification.ok).toBe(true);
      expect(await Session.of(target, report.recorder, source.dir).eval('(token, late)')).toBe("('changed', 1)");
    } finally {
      await target.dispose();
    }
  });

  it('redoes a checkpoint when another client runs a cell while the kernel is being measured', async () => {
    const source = await start();
    // Fingerprinting 800 MB keeps measure busy for a while: a cell sent meanwhile from a second
    // client queues behind it and runs before the save.
    await source.run('import numpy as np\nbase = np.random.default_rng(1).random(100_000_000)\nflag = 0');
    const other = await attachKernel(source.kernel.connectionFile);
    try {
      let sent: Promise<ExecuteResult> | undefined;
      const phases: string[] = [];
      const saved = await checkpoint(source.recorder, new LocalStore(store()), {
        onProgress: (event) => {
          phases.push(event.phase);
          if (event.phase === 'measure' && !sent) sent = sleep(50).then(() => other.client.execute('flag = 1\nextra = "from another client"'));
        },
      });
      expect((await sent!).status).toBe('ok');
      expect(phases.filter((p) => p === 'measure')).toHaveLength(2); // measured again after the cell
      const body = saved.checkpoint.manifest.body as { fingerprints: { values: Record<string, string | null> } };
      expect(Object.keys(body.fingerprints.values)).toContain('extra');
    } finally {
      await other.detach();
    }
  });

  it('fails with StateChangedError, committing nothing, when cells keep running during every attempt', async () => {
    const source = await start();
    await source.run('import os\nx = os.urandom(4)');
    const local = new LocalStore(store());
    const first = await checkpoint(source.recorder, local);
    const runs: Promise<ExecuteResult>[] = [];
    const error = await checkpoint(source.recorder, local, {
      attempts: 2,
      onProgress: (event) => {
        // Every attempt: a cell lands between planning and saving.
        if (event.phase === 'plan') runs.push(source.kernel.client.execute('x = os.urandom(4)'));
      },
    }).catch((e: unknown) => e);
    await Promise.all(runs);
    expect(error).toBeInstanceOf(StateChangedError);
    expect(runs).toHaveLength(2);
    expect(await local.latestId()).toBe(first.checkpoint.manifest.id);
    expect(await local.list()).toHaveLength(1);
  });
});

describe('a restore never mixes old and new values, nor reruns side effects', () => {
  const { start, move } = useMigrationSandbox();

  it('saves what a rerun cannot reproduce when the same cell imported modules, and reruns nothing', async () => {
    const source = await start();
    await source.run(
      'import numpy as np, os\nbig = np.frombuffer(os.urandom(80_000), dtype=np.uint8).astype(float)\ntoken = os.urandom(8).hex()\ntotal = big.sum()',
    );
    const m = await move(source);
    expect(m.report.plan.rerun).toEqual([]);
    for (const name of ['big', 'token', 'total', 'np', 'os']) expect(m.outcome(name), name).toBe('restored');
    expect(m.report.verification.ok).toBe(true);
    const check = '(token, float(total), float(big.sum()) == float(total))';
    expect(await m.target.eval(check)).toBe(await source.eval(check));
  });

  it('reruns a nondeterministic cell only for what cannot be saved, and brings its other values back from the checkpoint', async () => {
    const source = await start();
    await source.run(
      'import os\nbig = list(os.urandom(1000))\nsquares = (i * i for i in range(5))', // the generator cannot be saved: this cell is rerun
      'total = sum(big)',
    );
    const m = await move(source);
    const drew = source.recorder.graph.executions.find((r) => r.code.includes('urandom'))!;
    expect(m.report.plan.rerun).toContain(drew.seq);
    expect(m.saved.plan.serialize.length).toBeGreaterThan(0);
    expect(m.outcome('big')).toBe('restored'); // loaded after the rerun drew new bytes
    expect(m.outcome('total')).toMatch(/restored|recomputed-equal/);
    expect(m.report.verification.totals['recomputed-different']).toBe(0);
    expect(await m.target.eval('(sum(big) == total, list(squares))')).toBe('(True, [0, 1, 4, 9, 16])');
  });

  it('never reruns a cell that wrote a file just to get its imports back', async () => {
    const source = await start();
    await source.run("import numpy as np\na = np.arange(10)\nopen('g.txt', 'w').write('1')\nb = a * 2");
    const file = join(source.dir, 'g.txt');
    await writeFile(file, 'user edit'); // a rerun would overwrite this
    const before = await stat(file);
    const m = await move(source);
    expect(m.report.plan.rerun).toEqual([]);
    expect(m.report.verification.ok).toBe(true);
    expect(await readFile(file, 'utf8')).toBe('user edit');
    expect((await stat(file)).mtimeMs).toBe(before.mtimeMs);
    expect(await m.target.eval('(int(b.sum()), np.__name__)')).toBe("(90, 'numpy')");
  });
});

describe('a restore reports what it could not bring back, and touches nothing else', () => {
  const { start, store } = useMigrationSandbox();

  async function damage(path: string): Promise<void> {
    const bytes = await readFile(path);
    bytes[bytes.length >> 1] ^= 0xff;
    await writeFile(path, bytes);
  }

  it('reports a variable lost when its blob is damaged and its cell cannot reproduce it', async () => {
    const source = await start();
    await source.run('import os\ntoken = os.urandom(8).hex()', 'x = 41 + 1');
    const saved = await checkpoint(source.recorder, new LocalStore(store()));
    const blob = saved.checkpoint.manifest.blobs.find((b) => b.variables.includes('token'))!;
    await damage(saved.checkpoint.blobPath(blob));
    const kernel = await launchKernel({ python: testPython(), cwd: source.dir });
    try {
      const report = await restore(saved.checkpoint, kernel.client);
      const token = report.verification.variables.find((v) => v.name === 'token')!;
      expect(token.outcome).toBe('lost');
      expect(token.detail).toMatch(/checksum/);
      expect(token.detail).toMatch(/nondeterministic/);
      expect(report.verification.ok).toBe(false);
      const drew = source.recorder.graph.executions.find((r) => r.code.includes('urandom'))!;
      expect(report.plan.rerun).not.toContain(drew.seq); // the cell that drew the token was not run again
    } finally {
      await kernel.dispose();
    }
  });

  it('never reports ok when every blob is gone', async () => {
    const source = await start();
    await source.run('import os, numpy as np\nseed = np.frombuffer(os.urandom(64), dtype=np.uint8)', 'scaled = seed * 2');
    const saved = await checkpoint(source.recorder, new LocalStore(store()));
    expect(saved.checkpoint.manifest.blobs.length).toBeGreaterThan(0);
    for (const blob of saved.checkpoint.manifest.blobs) await rm(saved.checkpoint.blobPath(blob));
    const kernel = await launchKernel({ python: testPython(), cwd: source.dir });
    try {
      const report = await restore(saved.checkpoint, kernel.client);
      expect(report.verification.ok).toBe(false);
      expect(report.verification.variables.find((v) => v.name === 'seed')!.outcome).toBe('lost');
      expect(report.verification.totals['recomputed-different']).toBe(0);
    } finally {
      await kernel.dispose();
    }
  });

  it('falls back without touching the target kernel\'s own variables, and refuses to overwrite them unless asked', async () => {
    const source = await start();
    // Rerunning the sleep is dearer than loading, so the plan saves `data`; its blob is then damaged.
    await source.run('import time', 'time.sleep(0.5)\ndata = list(range(1000))');
    const saved = await checkpoint(source.recorder, new LocalStore(store()), { costs: { objective: 'restore' } });
    const blob = saved.checkpoint.manifest.blobs.find((b) => b.variables.includes('data'));
    expect(blob, 'the plan saves data').toBeDefined();
    await damage(saved.checkpoint.blobPath(blob!));
    const kernel = await launchKernel({ python: testPython(), cwd: source.dir });
    const user = Session.of(kernel, undefined as never, source.dir);
    try {
      await user.run('mine = 42', 'other = [1, 2]');
      const report = await restore(saved.checkpoint, kernel.client);
      expect(report.fallbacks.join('\n')).toMatch(/checksum/);
      expect(report.verification.variables.find((v) => v.name === 'data')!.outcome).toBe('recomputed-equal');
      expect(await user.eval('(mine, other, len(data))')).toBe('(42, [1, 2], 1000)');

      // Now the target binds the checkpoint's names: restoring again would overwrite them.
      await user.run('data = "my own"');
      const refused = await restore(saved.checkpoint, kernel.client).catch((e: unknown) => e);
      expect(refused).toBeInstanceOf(TargetNamespaceConflictError);
      expect((refused as Error).message).toMatch(/data/);
      expect(await user.eval('data')).toBe("'my own'");
      const again = await restore(saved.checkpoint, kernel.client, { replaceExisting: true });
      expect(again.verification.totals.lost).toBe(0);
      expect(await user.eval('(mine, len(data))')).toBe('(42, 1000)');
    } finally {
      await kernel.dispose();
    }
  });
});

describe('a variable that came back different is not a success', () => {
  const { start, store } = useMigrationSandbox();

  it('saves what a cell read from its environment (pid, cwd, environment variables) instead of rerunning it', async () => {
    const source = await start();
    await source.run('import os', 'pid = os.getpid()\nhere = os.getcwd()\nshell = os.environ.get("NBF_TEST_VAR", "unset")');
    const kernel = await launchKernel({ python: testPython(), cwd: source.dir, env: { ...process.env, NBF_TEST_VAR: 'other' } });
    try {
      const saved = await checkpoint(source.recorder, new LocalStore(store()));
      const report = await restore(saved.checkpoint, kernel.client);
      for (const name of ['pid', 'here', 'shell']) {
        expect(report.verification.variables.find((v) => v.name === name)!.outcome, name).toBe('restored');
      }
      expect(report.verification.ok).toBe(true);
    } finally {
      await kernel.dispose();
    }
  });

  it('is not ok when a rerun brings a value back different, unless the caller accepts it', async () => {
    const source = await start();
    await writeFile(join(source.dir, 'data.txt'), 'first line\n');
    // The open file cannot be saved: its cell is rerun, and `head` with it.
    await source.run('fh = open("data.txt")\nhead = fh.readline()');
    const saved = await checkpoint(source.recorder, new LocalStore(store()));
    await writeFile(join(source.dir, 'data.txt'), 'edited since\n');
    for (const allow of [false, true]) {
      const kernel = await launchKernel({ python: testPython(), cwd: source.dir });
      try {
        const report = await restore(saved.checkpoint, kernel.client, { allowRecomputedDifferent: allow });
        expect(report.verification.variables.find((v) => v.name === 'head')!.outcome).toBe('recomputed-different');
        expect(report.verification.ok).toBe(allow);
      } finally {
        await kernel.dispose();
      }
    }
  });
});

describe('a coordinator killed mid-checkpoint', () => {
  const { start, store } = useMigrationSandbox();

  it('leaves no blob being written forever: the kernel stops, and the next writer cleans the staging', async () => {
    const source = await start();
    // 800 MB of unseeded randomness: the plan must save it, and writing it takes a while.
    await source.run('import numpy as np\nbig = np.random.default_rng().random(100_000_000)');
    const coordinator = spawn(
      process.execPath,
      ['--conditions=source', '--import', 'tsx', join(repoRoot, 'packages/cli/src/main.ts'), 'checkpoint', '--connection-file', source.kernel.connectionFile!, '--out', store(), '--json'],
      { stdio: 'ignore' },
    );
    const exited = new Promise((resolve) => coordinator.once('exit', resolve));
    const staging = join(store(), '.staging');
    // Format 2: the kernel writes content-addressed chunks (temp file, then renamed) into the store's chunks/.
    const chunks = join(store(), 'chunks');
    const blobsNow = async (): Promise<string[]> => {
      const ids = (await readdir(staging).catch(() => [] as string[])).filter((e) => !e.endsWith('.lease'));
      const blobs = (await Promise.all(ids.map((id) => readdir(join(staging, id, 'blobs')).catch(() => [] as string[])))).flat();
      const subs = await readdir(chunks).catch(() => [] as string[]);
      const temps = (await Promise.all(subs.map((s) => readdir(join(chunks, s)).catch(() => [] as string[])))).flat().filter((f) => f.startsWith('.tmp-'));
      return [...blobs, ...temps];
    };
    const chunkCount = async (): Promise<number> =>
      (await Promise.all((await readdir(chunks).catch(() => [] as string[])).map((s) => readdir(join(chunks, s))))).flat().length;
    // Kill it as soon as the kernel has started writing the blob.
    const deadline = Date.now() + 90_000;
    while (!(await blobsNow()).some((f) => f.startsWith('.tmp-')) && Date.now() < deadline) await sleep(5);
    coordinator.kill('SIGKILL');
    await exited;
    expect(Date.now() < deadline, 'the kernel started writing').toBe(true);
    const chunksAtKill = await chunkCount();
    // The kernel finishes its request (it stopped writing: no complete blob) and stays usable.
    const answer = await source.kernel.client.execute('ok = big.size', { timeoutMs: 60_000 });
    expect(answer.status).toBe('ok');
    expect(await blobsNow()).toEqual([]); // the temporary blob was removed, none was completed
    // It stopped within a few chunks of the kill (2 in flight per worker), not after all ~95 of 800 MB.
    expect(await chunkCount()).toBeLessThan(chunksAtKill + 12);
    const local = new LocalStore(store());
    expect(await local.cleanStaging()).toHaveLength(1);
    expect(await readdir(staging)).toEqual([]);
    expect(await local.latestId()).toBeUndefined();
  }, 180_000);
});

describe('an interrupted restore', () => {
  const { start, store } = useMigrationSandbox();

  /** Pids of processes whose environment holds `marker` (Linux). */
  async function processesMarked(marker: string): Promise<number[]> {
    const pids = (await readdir('/proc')).filter((e) => /^\d+$/.test(e));
    const marked = await Promise.all(pids.map(async (pid) => ((await readFile(`/proc/${pid}/environ`, 'utf8').catch(() => '')).includes(marker) ? Number(pid) : 0)));
    return marked.filter((pid) => pid !== 0);
  }

  it('stops the kernel it started when aborted, and does not leave it half-restored', async () => {
    const source = await start();
    // gen cannot be saved: its cell (3 s) is rerun on restore.
    await source.run('import time\ntime.sleep(3)\ngen = (i for i in range(3))');
    const saved = await checkpoint(source.recorder, new LocalStore(store()));
    expect(saved.plan.rerun).toHaveLength(1);
    const marker = `NBF_RESTORE_MARK=${process.pid}-${Date.now()}`;
    const controller = new AbortController();
    let during: number[] = [];
    let abortedAt = 0;
    const outcome = await restoreToNewKernel(
      saved.checkpoint,
      { python: testPython(), cwd: source.dir, env: { ...process.env, NBF_RESTORE_MARK: marker.split('=')[1] } },
      {
        signal: controller.signal,
        onProgress: (event) => {
          if (event.phase !== 'run') return;
          setTimeout(() => {
            void processesMarked(marker).then((pids) => {
              during = pids; // the kernel is there, running the restore
              abortedAt = performance.now();
              controller.abort(new Error('SIGINT'));
            });
          }, 300);
        },
      },
    ).catch((e: unknown) => e);
    expect(outcome).toBeInstanceOf(Error);
    expect(during.length).toBeGreaterThan(0);
    expect(performance.now() - abortedAt).toBeLessThan(2500); // did not wait for the 3 s cell
    expect(await processesMarked(marker)).toEqual([]);
  }, 60_000);

  it('interrupts a running kernel it restores into when aborted, and leaves it usable', async () => {
    const source = await start();
    await source.run('import time\nkeep = 41\ntime.sleep(3)\ngen = (i for i in range(3))');
    const saved = await checkpoint(source.recorder, new LocalStore(store()));
    expect(saved.plan.rerun).toHaveLength(1);
    const target = await start(); // the user's kernel, which must survive the abort
    await target.run('mine = "untouched"');
    const controller = new AbortController();
    let abortedAt = 0;
    const outcome = await restore(saved.checkpoint, target.kernel.client, {
      signal: controller.signal,
      onProgress: (event) => {
        if (event.phase !== 'run') return;
        setTimeout(() => {
          abortedAt = performance.now();
          controller.abort(new Error('cancelled'));
        }, 300);
      },
    }).catch((e: unknown) => e);
    expect(outcome).toBeInstanceOf(Error);
    // The 3 s rerun was interrupted, not left to finish: the kernel answers at once.
    const t = performance.now();
    const [probe] = await target.run('print(mine, "gen" in globals(), "keep" in globals())');
    expect(performance.now() - abortedAt).toBeLessThan(2500);
    expect(performance.now() - t).toBeLessThan(1500);
    // What the half-run cell bound (keep) is gone; the target's own variable stays.
    expect(probe!.stdout).toBe('untouched False False\n');
  }, 60_000);

  it('aborted before it has checked the target, removes none of the target\'s names', async () => {
    const source = await start();
    await source.run('keep = 41');
    const saved = await checkpoint(source.recorder, new LocalStore(store()));
    const target = await start();
    await target.run('keep = "mine"'); // a name the checkpoint owns: the restore would refuse it
    const controller = new AbortController();
    const outcome = await restore(saved.checkpoint, target.kernel.client, {
      signal: controller.signal,
      onProgress: (event) => {
        if (event.phase === 'compatibility') controller.abort(new Error('cancelled'));
      },
    }).catch((e: unknown) => e);
    expect(outcome).toBeInstanceOf(Error);
    expect(outcome).not.toBeInstanceOf(TargetNamespaceConflictError);
    const [probe] = await target.run('print(keep)');
    expect(probe!.stdout).toBe('mine\n');
  }, 60_000);
});

