/**
 * Starting kernels (launchKernel) and connecting to running ones (attachKernel). Both return a
 * ready KernelClient; a launched kernel's client owns its process (restart, SIGINT, kill).
 */
import { rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { CallOptions } from './abort.js';
import { createConnectionFile, readConnectionFile, type ConnectionInfo, type NewConnectionOptions } from './connection.js';
import { KernelDiedError, KernelKeyMismatchError, KernelStartError, KernelStartTimeoutError, KernelUnreachableError, RequestTimeoutError } from './errors.js';
import { Heartbeat, type HeartbeatOptions } from './heartbeat.js';
import { KernelClient, type KernelOwner } from './kernel-client.js';
import { KEY_CHECK_MS, keyMismatchSuspected } from './key-check.js';
import { KernelProcess } from './kernel-process.js';
import { expandArgv, findKernelSpec, pythonKernelArgv } from './kernelspec.js';
import { ZmqTransport } from './zmq-transport.js';
import { redactSecrets } from '@nbferry/protocol';

export interface LaunchOptions extends NewConnectionOptions, CallOptions {
  /** A Python interpreter with ipykernel installed. */
  python?: string;
  /** A kernelspec name (found in the Jupyter data paths). Default `python3` when `python` is not given. */
  kernelName?: string;
  /** Extra Jupyter data directories to search for kernelspecs. */
  kernelSpecPaths?: string[];
  cwd?: string;
  env?: Record<string, string | undefined>;
  /** Heartbeat for a launched kernel; off by default since process exit is seen at once. */
  heartbeat?: HeartbeatOptions | false;
  /**
   * Keep the kernel running after this process exits (e.g. a restored kernel handed to the user).
   * Its output goes to `kernel.log` beside the connection file; call `detach()` when done with it.
   */
  outlive?: boolean;
}

export interface Kernel {
  client: KernelClient;
  connection: ConnectionInfo;
  connectionFile: string;
  /** Shuts the kernel down (launched) or detaches (attached), and removes temp files we made. */
  dispose(): Promise<void>;
  /** Closes our connection and leaves the kernel and its connection file for others to use. */
  detach(): Promise<void>;
}

const DEFAULT_START_TIMEOUT_MS = 60_000;

export async function launchKernel(options: LaunchOptions = {}): Promise<Kernel> {
  // A Python path alone launches ipykernel from it; a kernelspec name uses the spec (with `python`
  // standing in for a bare "python" in its argv).
  const spec =
    options.python && !options.kernelName ? undefined : await findKernelSpec(options.kernelName ?? 'python3', options.kernelSpecPaths);
  // A relative interpreter path means relative to us, not to the kernel's cwd.
  const python = options.python?.includes('/') ? resolve(options.python) : options.python;
  const { info, path, dir } = await createConnectionFile(options);
  const argv = spec
    ? expandArgv(spec.argv, path, spec.resourceDir, python)
    : expandArgv(pythonKernelArgv(python!), path);
  const env = { ...spec?.env, ...options.env };
  const outlive = options.outlive ? { logFile: join(dir, 'kernel.log') } : undefined;
  const removeFiles = () => rm(dir, { recursive: true, force: true });

  let process_: KernelProcess;
  try {
    process_ = await KernelProcess.spawn(argv, { cwd: options.cwd, env, outlive });
  } catch (error) {
    await removeFiles();
    throw error;
  }
  const transport = new ZmqTransport(info);
  let heartbeat: Heartbeat | undefined;
  // Set while we stop the process on purpose (restart, shutdown): its exit is not a death.
  let exitExpected = false;
  const owner: KernelOwner = {
    get process() {
      return process_;
    },
    interruptMode: spec?.interruptMode ?? 'message',
    async respawn() {
      process_ = await KernelProcess.spawn(argv, { cwd: options.cwd, env, outlive });
      exitExpected = false;
      watchExit(process_);
      return process_;
    },
    pauseMonitoring: () => {
      exitExpected = true;
      heartbeat?.pause();
    },
    resumeMonitoring: () => heartbeat?.resume(),
  };
  const client = new KernelClient(transport, owner);
  const watchExit = (proc: KernelProcess) => {
    void proc.exited.then(({ exitCode, signal }) => {
      if (proc !== process_ || exitExpected) return;
      client.fail(new KernelDiedError('the kernel process exited', exitCode, signal, redactSecrets(proc.outputTail(), [info.key])));
    });
  };
  watchExit(process_);

  try {
    await client.waitReady({ signal: options.signal, timeoutMs: options.timeoutMs ?? DEFAULT_START_TIMEOUT_MS });
  } catch (error) {
    const exit = process_.exitInfo;
    await process_.kill(500);
    await transport.close();
    await removeFiles();
    if (exit) {
      throw new KernelStartError(
        `kernel process exited during start-up: ${argv.join(' ')}`,
        exit.exitCode,
        exit.signal,
        redactSecrets(process_.outputTail(), [info.key]),
        { cause: error },
      );
    }
    if (error instanceof RequestTimeoutError) {
      throw new KernelStartTimeoutError(options.timeoutMs ?? DEFAULT_START_TIMEOUT_MS, redactSecrets(process_.outputTail(), [info.key]));
    }
    throw error;
  }
  if (options.heartbeat) heartbeat = startHeartbeat(info, client, options.heartbeat);

  return {
    client,
    connection: info,
    connectionFile: path,
    async dispose() {
      await heartbeat?.close();
      await client.shutdown();
      await removeFiles();
    },
    async detach() {
      await heartbeat?.close();
      process_.release();
      await client.close();
    },
  };
}

export interface AttachOptions extends CallOptions {
  heartbeat?: HeartbeatOptions | false;
}

/** Connects to a kernel someone else started, from its connection file. Dispose detaches only. */
export async function attachKernel(connectionFile: string, options: AttachOptions = {}): Promise<Kernel> {
  const info = await readConnectionFile(connectionFile);
  const transport = new ZmqTransport(info);
  const client = new KernelClient(transport);
  const timeoutMs = options.timeoutMs ?? 10_000;
  // Readiness and the key check run together; whichever settles the question first stops the other.
  const settled = new AbortController();
  const signal = options.signal ? AbortSignal.any([options.signal, settled.signal]) : settled.signal;
  const keyCheck = keyMismatchSuspected(client, info, { timeoutMs: Math.min(KEY_CHECK_MS, timeoutMs), signal }).then((suspected) => {
    if (suspected) settled.abort(new KernelKeyMismatchError(connectionFile, transport.stats.badSignature));
  });
  try {
    await client.waitReady({ signal, timeoutMs });
  } catch (error) {
    await transport.close();
    if (settled.signal.reason instanceof KernelKeyMismatchError) throw settled.signal.reason;
    if (error instanceof KernelKeyMismatchError) throw new KernelKeyMismatchError(connectionFile, error.forged);
    if (error instanceof RequestTimeoutError) {
      const { received } = transport.stats;
      throw new KernelUnreachableError(connectionFile, timeoutMs, received > 0 ? `${received} messages arrived, none answering ours` : '');
    }
    throw error;
  } finally {
    settled.abort();
    await keyCheck;
  }
  const heartbeat = options.heartbeat === false ? undefined : startHeartbeat(info, client, options.heartbeat ?? {});
  const detach = async () => {
    await heartbeat?.close();
    await client.close();
  };
  return { client, connection: info, connectionFile, dispose: detach, detach };
}

function startHeartbeat(info: ConnectionInfo, client: KernelClient, options: HeartbeatOptions): Heartbeat {
  const heartbeat = new Heartbeat(
    info,
    (silentFor) => client.fail(new KernelDiedError(`no heartbeat for ${silentFor} ms`)),
    options,
  );
  client.events.on('dead', () => void heartbeat.close());
  return heartbeat;
}
