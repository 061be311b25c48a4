/**
 * A kernel's OS process: spawned in its own session (like Jupyter, so a terminal's Ctrl-C does not
 * reach it), told to exit with us (JPY_PARENT_PID), with the tail of its output kept for errors.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { KernelStartError } from './errors.js';

const TAIL_BYTES = 16 * 1024;

export interface ProcessExit {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
}

export class KernelProcess {
  readonly exited: Promise<ProcessExit>;
  private exit: ProcessExit | undefined;
  private tail = '';

  private constructor(
    private readonly child: ChildProcess,
    readonly argv: string[],
    /** Where an outliving kernel's output goes instead of a pipe to us. */
    private readonly logFile?: string,
  ) {
    const append = (chunk: Buffer) => {
      this.tail = (this.tail + chunk.toString('utf8')).slice(-TAIL_BYTES);
    };
    child.stdout?.on('data', append);
    child.stderr?.on('data', append);
    this.exited = new Promise((resolve) => {
      child.once('exit', (exitCode, signal) => {
        this.exit = { exitCode, signal };
        liveProcesses.delete(this);
        resolve(this.exit);
      });
    });
    liveProcesses.add(this);
  }

  /**
   * `outlive`: the kernel keeps running after we exit (a restored kernel handed to the user); its
   * output goes to `logFile` since no pipe to us may stay open.
   */
  static async spawn(
    argv: string[],
    options: { cwd?: string; env?: Record<string, string | undefined>; outlive?: { logFile: string } },
  ): Promise<KernelProcess> {
    const [command, ...args] = argv;
    if (!command) throw new KernelStartError('empty kernel argv', null, null, '');
    const env: Record<string, string | undefined> = { ...process.env, ...options.env, PYDEVD_DISABLE_FILE_VALIDATION: '1' };
    // ipykernel polls this pid and exits when it is gone: no orphan kernels if we crash.
    if (options.outlive) delete env.JPY_PARENT_PID;
    else env.JPY_PARENT_PID = String(process.pid);
    const log = options.outlive ? openSync(options.outlive.logFile, 'a', 0o600) : undefined;
    const child = spawn(command, args, {
      cwd: options.cwd,
      env,
      stdio: log === undefined ? ['ignore', 'pipe', 'pipe'] : ['ignore', log, log],
      detached: true,
    });
    if (log !== undefined) closeSync(log);
    await new Promise<void>((resolve, reject) => {
      child.once('spawn', () => resolve());
      child.once('error', (error) =>
        reject(new KernelStartError(`cannot start kernel process "${command}": ${error.message}`, null, null, '', { cause: error })),
      );
    });
    return new KernelProcess(child, argv, options.outlive?.logFile);
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get alive(): boolean {
    return this.exit === undefined;
  }

  get exitInfo(): ProcessExit | undefined {
    return this.exit;
  }

  /** The last ~16 KiB the process printed on stdout and stderr. */
  outputTail(): string {
    return (this.logFile ? readTail(this.logFile) : this.tail).trim();
  }

  /** Lets this process run on after we exit (only for kernels spawned with `outlive`). */
  release(): void {
    liveProcesses.delete(this);
    this.child.unref();
  }

  signal(signal: NodeJS.Signals): boolean {
    return this.alive && this.child.kill(signal);
  }

  /** Waits up to `ms` for exit; returns whether it exited. */
  async waitForExit(ms: number): Promise<boolean> {
    if (!this.alive) return true;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
    const result = await Promise.race([this.exited.then(() => true as const), timeout]);
    clearTimeout(timer);
    return result;
  }

  /** SIGTERM, then SIGKILL after `graceMs`. Resolves once the process is gone. */
  async kill(graceMs = 2000): Promise<void> {
    if (!this.alive) return;
    this.signal('SIGTERM');
    if (!(await this.waitForExit(graceMs))) {
      this.signal('SIGKILL');
      await this.exited;
    }
  }
}

function readTail(path: string): string {
  try {
    const size = statSync(path).size;
    const length = Math.min(size, TAIL_BYTES);
    const buffer = Buffer.alloc(length);
    const fd = openSync(path, 'r');
    try {
      readSync(fd, buffer, 0, length, size - length);
    } finally {
      closeSync(fd);
    }
    return buffer.toString('utf8');
  } catch {
    return '';
  }
}

/** Kernels we started and that still run; killed if this process exits without shutting them down. */
const liveProcesses = new Set<KernelProcess>();
process.once('exit', () => {
  for (const kernel of liveProcesses) kernel.signal('SIGKILL');
});
