/** nbferry checkpoint --connection-file F --out DIR: checkpoint a running kernel (it keeps running). */
import { attachKernel } from '@nbferry/kernel';
import { checkpoint, CheckpointLossError } from '@nbferry/migrate';
import { renderPlanText } from '@nbferry/planner';
import { Recorder } from '@nbferry/recorder';
import { openStore, type CheckpointKey } from '@nbferry/store';
import { EXIT } from '../exit-codes.js';
import { signingKey } from '../keys.js';
import type { Limits } from '../limits.js';
import { renderCheckpointText } from '../output/checkpoint-text.js';
import { checkpointDocument, refusedCheckpointDocument, writeDocument, type CheckpointDocument } from '../output/documents.js';
import { createProgress, type ProgressMode } from '../progress/progress.js';

export interface CheckpointArgs {
  connectionFile: string;
  out: string;
  deadlineSeconds?: number;
  allowLoss: boolean;
  keyFile?: string;
  limits: Limits;
  json: boolean;
  progress: ProgressMode;
  signal: AbortSignal;
}

export async function checkpointCommand(args: CheckpointArgs): Promise<number> {
  // Before touching the kernel: a key that cannot sign fails the command with nothing written.
  const key = await signingKey(args.keyFile);
  const kernel = await attachKernel(args.connectionFile, { signal: args.signal, timeoutMs: args.limits.timeoutMs });
  try {
    const recorder = await Recorder.attach(kernel.client, { signal: args.signal, timeoutMs: args.limits.timeoutMs });
    const { document, plan } = await takeCheckpoint(recorder, args.out, { ...args, key });
    if (args.json) writeDocument(document);
    else process.stdout.write(`${plan}\n${renderCheckpointText(document, args.allowLoss)}`);
    return document.committed ? EXIT.ok : EXIT.incomplete;
  } finally {
    // Detach only: the user's kernel keeps running.
    await kernel.detach();
  }
}

/**
 * Checkpoints into `out`, refusing (without writing) if variables would be lost unless `allowLoss`.
 * Returns the checkpoint document (committed or refused) and the plan as text.
 */
export async function takeCheckpoint(
  recorder: Recorder,
  out: string,
  args: { deadlineSeconds?: number; allowLoss: boolean; key?: CheckpointKey; limits: Limits; progress: ProgressMode; signal: AbortSignal },
): Promise<{ document: CheckpointDocument; plan: string }> {
  const progress = createProgress(args.progress);
  const store = await openStore(out); // a path, file:// or s3:// URL; any other scheme is refused
  try {
    const result = await checkpoint(recorder, store, {
      deadlineMs: args.deadlineSeconds === undefined ? undefined : args.deadlineSeconds * 1000,
      refuseLoss: !args.allowLoss,
      key: args.key,
      timeoutMs: args.limits.timeoutMs,
      measureBudgetSec: args.limits.measureBudgetSec,
      onProgress: progress.listener('checkpoint'),
      signal: args.signal,
    });
    progress.end();
    return {
      document: checkpointDocument(result.checkpoint, { timings: result.timings, deadlineMissed: result.deadlineMissed ?? false }),
      plan: renderPlanText(result.plan),
    };
  } catch (error) {
    progress.end();
    if (!(error instanceof CheckpointLossError)) throw error;
    return { document: refusedCheckpointDocument(error.unrecoverable, error.plan), plan: renderPlanText(error.plan) };
  } finally {
    store.close?.();
  }
}
