/**
 * nbferry fork STORE --connection-file F --count N: N fresh kernels holding a running kernel's state
 * (one checkpoint into STORE, N restores of it, each verified), left running for the user with their
 * connection files printed. All or nothing: if one cannot be started or restored, none is left.
 */
import { attachKernel } from '@nbferry/kernel';
import { fork, formatMs, type ForkResult } from '@nbferry/migrate';
import { Recorder } from '@nbferry/recorder';
import { openStore } from '@nbferry/store';
import { UsageError } from '../errors.js';
import { EXIT } from '../exit-codes.js';
import { isDirectory } from '../option-values.js';
import { signingKey } from '../keys.js';
import type { Limits } from '../limits.js';
import { checkpointDocument, restoreDocument, writeDocument, type ForkDocument } from '../output/documents.js';
import { verdictText } from '../output/verdict.js';

export interface ForkArgs {
  store: string;
  connectionFile: string;
  count: number;
  python?: string;
  /** Where the new kernels start (default: the current directory). */
  cwd: string;
  allowLoss: boolean;
  allowDifferent: boolean;
  keyFile?: string;
  limits: Limits;
  json: boolean;
  signal: AbortSignal;
}

export async function forkCommand(args: ForkArgs): Promise<number> {
  if (!isDirectory(args.cwd)) throw new UsageError(`nbferry fork: --cwd ${args.cwd} is not a directory.`);
  const key = await signingKey(args.keyFile);
  const store = await openStore(args.store); // a path, file:// or s3:// URL; any other scheme is refused
  const source = await attachKernel(args.connectionFile, { signal: args.signal, timeoutMs: args.limits.timeoutMs });
  let result: ForkResult;
  try {
    const recorder = await Recorder.attach(source.client, { signal: args.signal, timeoutMs: args.limits.timeoutMs });
    result = await fork(recorder, store, args.count, {
      key,
      refuseLoss: !args.allowLoss,
      timeoutMs: args.limits.timeoutMs,
      measureBudgetSec: args.limits.measureBudgetSec,
      signal: args.signal,
      launch: { python: args.python, cwd: args.cwd, outlive: true },
      restore: { key, allowRecomputedDifferent: args.allowDifferent, timeoutMs: args.limits.timeoutMs },
    });
  } finally {
    await source.detach(); // the user's kernel keeps running
    store.close?.();
  }
  // The children are the user's now: leave them running.
  await Promise.all(result.children.map((child) => child.kernel.detach()));
  const ok = result.children.every((child) => child.report.verification.ok);
  if (args.json) {
    const document: ForkDocument = {
      schema: 'nbferry/fork@1',
      ok,
      checkpoint: checkpointDocument(result.checkpoint.checkpoint, { timings: result.checkpoint.timings, deadlineMissed: result.checkpoint.deadlineMissed ?? false }),
      children: result.children.map((child) => restoreDocument(child.report, child.kernel.connectionFile)),
      timings: result.timings,
    };
    writeDocument(document);
  } else {
    for (const [i, child] of result.children.entries()) {
      const totals = child.report.verification.totals;
      process.stdout.write(
        `kernel ${i + 1}: ${verdictText(child.report.verification, args.allowDifferent)} (${totals.restored} restored, ${totals['recomputed-equal']} recomputed)\n` +
          `  jupyter console --existing ${child.kernel.connectionFile}\n`,
      );
    }
    const t = result.timings;
    process.stdout.write(
      `forked ${result.children.length} kernels in ${formatMs(t.totalMs)} (checkpoint ${formatMs(t.checkpointMs)}, kernels ready after ${formatMs(t.targetsReadyMs)}, ${t.pipelined ? `restores loading while it was written, done ${formatMs(t.restoreMs)} after it` : `restores ${formatMs(t.restoreMs)}`})\n`,
    );
  }
  return ok ? EXIT.ok : EXIT.incomplete;
}
