/**
 * nbferry serve: the kernel service (@nbferry/service) until SIGINT/SIGTERM. With --grace S, the
 * signal first checkpoints every registered kernel within S seconds (a preemption notice), then the
 * service stops. @nbferry/service is imported here only, on demand: the other commands do not load
 * an HTTP server, and the service package stays below the CLI (it never imports it).
 */
import { resolve } from 'node:path';
import { storeScheme } from '@nbferry/store';
import { UsageError } from '../errors.js';
import { EXIT } from '../exit-codes.js';

export interface ServeArgs {
  stores: string;
  tokenFile?: string;
  host: string;
  port: number;
  python: string;
  graceSeconds?: number;
  timeoutMs?: number;
  logLevel: string;
  /** `--target` values: where "move to…" may send a kernel (another Jupyter Server). */
  targets?: string[];
  /** `--warm-kernels`, `--warm-modules`: kernels kept ready for restores and migrations (size 0: none). */
  warmKernels?: { size: number; modules: readonly string[] };
  /** `--standby`: a standby kernel for each kernel auto-checkpointing into a directory store. */
  standby?: boolean;
  signal: AbortSignal;
  /** Lets the signal's cleanup run as long as the grace period (the CLI otherwise exits after 20 s). */
  setCleanupBudget?: (ms: number) => void;
}

export async function serveCommand(args: ServeArgs): Promise<number> {
  const { loadToken, parseTargetSpec, startService } = await import('@nbferry/service');
  const targets = (() => {
    try {
      return (args.targets ?? []).map(parseTargetSpec);
    } catch (error) {
      throw new UsageError(`nbferry serve: ${(error as Error).message}`);
    }
  })();
  // A missing or unreadable token is the caller's input, like a bad option (exit 2).
  const token = await loadToken(args.tokenFile).catch((error: unknown) => Promise.reject(new UsageError(`nbferry serve: ${(error as Error).message}`)));
  if (args.graceSeconds !== undefined) args.setCleanupBudget?.((args.graceSeconds + 10) * 1000);
  const running = await startService({
    token,
    host: args.host,
    port: args.port,
    // A directory (relative to here) or a store URL (s3://bucket/prefix), kept as given.
    storeRoot: storeScheme(args.stores) === undefined ? resolve(args.stores) : args.stores,
    python: args.python,
    timeoutMs: args.timeoutMs,
    targets,
    warmKernels: args.warmKernels,
    standby: args.standby,
    logger: { level: args.logLevel },
  }).catch((error: unknown) =>
    // A port taken or not allowed: the caller's --host/--port, like a bad option value.
    Promise.reject((error as { code?: string }).code === 'SERVICE_LISTEN_FAILED' ? new UsageError(`nbferry serve: ${(error as Error).message}`) : error),
  );
  await new Promise<void>((done) => {
    if (args.signal.aborted) done();
    else args.signal.addEventListener('abort', () => done(), { once: true });
  });
  if (args.graceSeconds === undefined) {
    await running.close();
    return EXIT.ok;
  }
  // The signal decides the exit status (143/130, runCli); the report is in the log.
  const report = await running.drain(args.graceSeconds);
  return report.allSafe ? EXIT.ok : EXIT.incomplete;
}
