/** Test harness: run cells in a recorded kernel, checkpoint, restore into a fresh kernel, look around. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach } from 'vitest';
import { launchKernel, type ExecuteResult, type Kernel } from '@nbferry/kernel';
import { checkpoint, restore, type CheckpointResult, type RestoreReport } from '@nbferry/migrate';
import { Recorder } from '@nbferry/recorder';
import { LocalStore } from '@nbferry/store';
import { testPython } from './python.js';

export class Session {
  private constructor(
    readonly kernel: Kernel,
    readonly recorder: Recorder,
    readonly dir: string,
  ) {}

  /** A fresh kernel in its own scratch directory (its cwd), with the recorder attached. */
  static async start(dir?: string): Promise<Session> {
    const cwd = dir ?? (await mkdtemp(join(tmpdir(), 'nbf-test-')));
    const kernel = await launchKernel({ python: testPython(), cwd });
    return new Session(kernel, await Recorder.attach(kernel.client), cwd);
  }

  static of(kernel: Kernel, recorder: Recorder, dir: string): Session {
    return new Session(kernel, recorder, dir);
  }

  /** Runs cells as a frontend would; throws on an unexpected error. */
  async run(...cells: string[]): Promise<ExecuteResult[]> {
    const results: ExecuteResult[] = [];
    for (const code of cells) {
      const result = await this.kernel.client.execute(code);
      if (result.status !== 'ok') throw new Error(`cell failed: ${code}\n${result.error?.ename}: ${result.error?.evalue}`);
      results.push(result);
    }
    return results;
  }

  /** Evaluates an expression (silently, unrecorded) and returns its text/plain. */
  async eval(expression: string): Promise<string> {
    const result = await this.kernel.client.execute('', { silent: true, userExpressions: { v: expression } });
    const v = result.userExpressions.v!;
    if (v.status !== 'ok') throw new Error(`${expression}: ${v.ename}: ${v.evalue}`);
    return String(v.data['text/plain']);
  }

  async dispose(): Promise<void> {
    await this.kernel.dispose();
  }

  async removeDir(): Promise<void> {
    await rm(this.dir, { recursive: true, force: true });
  }
}

export interface Migrated {
  saved: CheckpointResult;
  report: RestoreReport;
  target: Session;
  outcome(name: string): string | undefined;
}

/** Checkpoints `source` into `storeDir` and restores into a fresh kernel started in the same directory. */
export async function migrate(source: Session, storeDir: string): Promise<Migrated> {
  const saved = await checkpoint(source.recorder, new LocalStore(storeDir));
  const kernel = await launchKernel({ python: testPython(), cwd: source.dir });
  try {
    const report = await restore(saved.checkpoint, kernel.client);
    const target = Session.of(kernel, report.recorder, source.dir);
    return {
      saved,
      report,
      target,
      outcome: (name) => report.verification.variables.find((v) => v.name === name)?.outcome,
    };
  } catch (error) {
    await kernel.dispose();
    throw error;
  }
}

/**
 * Per-test sessions and a store, cleaned up after each test: `start()` a recorded source kernel,
 * `move()` it through a checkpoint into a fresh kernel, `store()` for the current test's store.
 */
export function useMigrationSandbox(): { start(): Promise<Session>; move(source: Session): Promise<Migrated>; store(): string } {
  let store = '';
  const open: Session[] = [];
  beforeEach(async () => {
    store = await mkdtemp(join(tmpdir(), 'nbf-store-'));
  });
  afterEach(async () => {
    for (const session of open.splice(0)) {
      await session.dispose();
      await session.removeDir();
    }
    await rm(store, { recursive: true, force: true });
  });
  return {
    async start() {
      const session = await Session.start();
      open.push(session);
      return session;
    },
    async move(source) {
      const migrated = await migrate(source, store);
      open.push(migrated.target);
      return migrated;
    },
    store: () => store,
  };
}
