// Ctrl-C (SIGINT) and SIGTERM during a command, on real kernels: the command stops the kernels it
// started and leaves no temporary directory behind, and exits 130 (SIGINT) or 143 (SIGTERM).
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nbferry, spawnNbferry } from './support/cli.js';
import { pidAlive, waitUntil } from './support/processes.js';
import { testPython } from './support/python.js';
import { notebook } from './support/notebook.js';

// The long cell writes its kernel's pid and connection file to $NBF_TEST_MARK, then sleeps.
const LONG_CELL =
  'import os, time\nfrom ipykernel.connect import get_connection_file\n' +
  'open(os.environ["NBF_TEST_MARK"], "w").write(f"kernel {os.getpid()} {get_connection_file()}\\n")\ntime.sleep(120)';

describe('nbferry interrupted', () => {
  let dir: string;
  let nb: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'nbf-int-'));
    nb = join(dir, 'long.ipynb');
    await writeFile(nb, notebook(['x = 1', LONG_CELL, 'y = 2']));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('migrate: SIGINT while the checkpoint is written removes the temporary store and stops both kernels', async () => {
    const temp = join(dir, 'tmp-migrate-checkpoint');
    await mkdir(temp);
    const mark = join(dir, 'mark-migrate-checkpoint');
    const big = join(dir, 'big.ipynb');
    // 512 MB of unseeded random numbers (a rerun would differ, so they are saved): seconds to write.
    await writeFile(big, notebook(['import numpy as np', 'big = np.random.default_rng().random(64 << 20)', LONG_CELL.replace('time.sleep(120)', 'pass')]));
    const cli = spawnNbferry(['migrate', big, '--python', testPython(), '--progress', 'text'], { env: { TMPDIR: temp, NBF_TEST_MARK: mark } });
    try {
      const writing = await waitUntil(() => /checkpoint: writing/.test(cli.output.stderr), 90_000, 20);
      expect(writing, `${cli.output.stdout}\n${cli.output.stderr}`).toBe(true);
      const [, pid] = /kernel (\d+) (\S+)/.exec(readFileSync(mark, 'utf8'))!;
      const stores = (await readdir(temp)).filter((name) => name.startsWith('nbferry-store-'));
      expect(stores).toHaveLength(1);
      cli.child.kill('SIGINT');
      const exit = await cli.exited;
      expect(exit.code, cli.output.stderr).toBe(130);
      expect(await waitUntil(() => !pidAlive(Number(pid)), 5_000)).toBe(true);
      // The temporary store, and both kernels' connection directories, are gone.
      expect((await readdir(temp)).filter((name) => !name.startsWith('tsx-'))).toEqual([]);
    } finally {
      cli.child.kill('SIGKILL');
    }
  }, 120_000);

  it('restore: SIGINT while a cell is rerun stops the fresh kernel instead of leaving it half-restored', async () => {
    // The lock cannot be pickled, so the restore reruns its cell; the cell sleeps as long as a
    // control file says (none when run, a minute when restored) and says which kernel runs it. A
    // file, not the environment: a rerun sees the environment values the cell saw when it ran.
    const slow = join(dir, 'slow.ipynb');
    const control = join(dir, 'slow-control.json');
    const cell =
      'import json, os, threading, time\n' +
      `ctl = json.load(open(${JSON.stringify(control)})) if os.path.exists(${JSON.stringify(control)}) else {}\n` +
      'if ctl.get("mark"):\n' +
      '    open(ctl["mark"], "w").write(f"kernel {os.getpid()} -\\n")\n' +
      'time.sleep(ctl.get("sleep", 0))\nlock = threading.Lock()';
    await writeFile(slow, notebook([cell]));
    const store = join(dir, 'slow-store');
    const saved = await nbferry(['run', slow, '--checkpoint', store, '--python', testPython(), '--quiet']);
    expect(saved.code, saved.stderr).toBe(0);

    const temp = join(dir, 'tmp-restore');
    await mkdir(temp);
    const mark = join(dir, 'mark-restore');
    await writeFile(control, JSON.stringify({ mark, sleep: 60 }));
    const cli = spawnNbferry(['restore', store, '--python', testPython(), '--progress', 'text'], { env: { TMPDIR: temp } });
    try {
      expect(await waitUntil(() => existsSync(mark) && readFileSync(mark, 'utf8').endsWith('\n'), 60_000, 50), cli.output.stderr).toBe(true);
      expect(cli.output.stderr).toMatch(/restore: step 1\/\d+: rerunning cell/);
      const [, pid] = /kernel (\d+)/.exec(readFileSync(mark, 'utf8'))!;
      cli.child.kill('SIGINT');
      const exit = await cli.exited;
      expect(exit.code, cli.output.stderr).toBe(130);
      expect(cli.output.stdout).not.toMatch(/kernel ready/);
      expect(await waitUntil(() => !pidAlive(Number(pid)), 5_000)).toBe(true);
      expect((await readdir(temp)).filter((name) => !name.startsWith('tsx-'))).toEqual([]);
    } finally {
      cli.child.kill('SIGKILL');
    }
  });

  it('run | head: a closed stdout stops the command and cleans up as an interruption (141)', async () => {
    const temp = join(dir, 'tmp-pipe');
    await mkdir(temp);
    const mark = join(dir, 'mark-pipe');
    const chatty = join(dir, 'chatty.ipynb');
    // Prints every 50 ms for a minute: the CLI echoes each line to its stdout.
    await writeFile(chatty, notebook([`${LONG_CELL.replace('time.sleep(120)', '')}\nfor i in range(1200):\n    print(i, flush=True)\n    time.sleep(0.05)`]));
    const cli = spawnNbferry(['run', chatty, '--python', testPython()], { env: { TMPDIR: temp, NBF_TEST_MARK: mark } });
    try {
      expect(await waitUntil(() => existsSync(mark) && readFileSync(mark, 'utf8').endsWith('\n'), 60_000, 50)).toBe(true);
      const [, pid] = /kernel (\d+) (\S+)/.exec(readFileSync(mark, 'utf8'))!;
      cli.child.stdout!.destroy(); // the reader goes away, as `| head` does
      const exit = await cli.exited;
      expect(exit.code, cli.output.stderr).toBe(141);
      expect(cli.output.stderr).toMatch(/interrupted by SIGPIPE/);
      expect(await waitUntil(() => !pidAlive(Number(pid)), 5_000)).toBe(true);
      expect((await readdir(temp)).filter((name) => !name.startsWith('tsx-'))).toEqual([]);
    } finally {
      cli.child.kill('SIGKILL');
    }
  });

  for (const [command, signal, exitCode] of [
    ['run', 'SIGINT', 130],
    ['migrate', 'SIGINT', 130],
    ['run', 'SIGTERM', 143],
  ] as const) {
    it(`${command}: ${signal} during a long cell stops the kernel, removes its files, exits ${exitCode}`, async () => {
      // A private temporary directory: whatever the command creates there must be gone at exit.
      const temp = join(dir, `tmp-${command}-${signal}`);
      await mkdir(temp);
      const mark = join(dir, `mark-${command}-${signal}`);
      const cli = spawnNbferry([command, nb, '--python', testPython()], { env: { TMPDIR: temp, NBF_TEST_MARK: mark } });
      try {
        const started = await waitUntil(() => existsSync(mark) && readFileSync(mark, 'utf8').endsWith('\n'), 60_000, 50);
        expect(started, `${cli.output.stdout}\n${cli.output.stderr}`).toBe(true);
        const [, pid, connectionFile] = /kernel (\d+) (\S+)/.exec(readFileSync(mark, 'utf8'))!;
        expect(connectionFile!.startsWith(temp)).toBe(true);
        expect(pidAlive(Number(pid))).toBe(true);

        cli.child.kill(signal);
        const exit = await cli.exited;
        expect(exit.code, cli.output.stderr).toBe(exitCode);
        expect(cli.output.stderr).toMatch(new RegExp(`interrupted by ${signal}`));
        // The kernel is gone (it may take a moment to be reaped), and so are its files and any store.
        expect(await waitUntil(() => !pidAlive(Number(pid)), 5_000)).toBe(true);
        expect(existsSync(dirname(connectionFile!))).toBe(false);
        // (tsx-*: the cache of the TypeScript loader the test runs the CLI with, not nbferry's.)
        expect((await readdir(temp)).filter((name) => !name.startsWith('tsx-'))).toEqual([]);
      } finally {
        cli.child.kill('SIGKILL');
      }
    });
  }
});
