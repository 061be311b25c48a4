/**
 * nbferry undo STORE --kernel CONN / nbferry checkout STORE --checkpoint ID --kernel CONN: bring a
 * running kernel back to a checkpoint of the store in place, reloading or recomputing only the
 * groups that differ from what it holds (packages/migrate checkout.ts), deleting the names bound
 * since, and verifying every variable. The kernel keeps running; this process only attaches.
 *
 * Undo goes back to the kernel's last checkpoint in the store if a cell ran since it, else to that
 * checkpoint's parent. The kernel's last checkpoint is kept in the kernel itself, so any later
 * process (this one) knows it. A checkpoint of another kernel's line may be checked out: the
 * kernel then continues that line (its next checkpoint starts a branch).
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { attachKernel } from '@nbferry/kernel';
import { checkout, formatBytes, formatMs, KernelNotRecordedError, NothingToUndoError, renderVerification, undo, type CheckoutReport } from '@nbferry/migrate';
import { Recorder } from '@nbferry/recorder';
import { CheckpointNotFoundError, LocalStore } from '@nbferry/store';
import { UnknownCheckpointIdError } from '../errors.js';
import { EXIT } from '../exit-codes.js';
import { verifyingKey } from '../keys.js';
import type { Limits } from '../limits.js';
import { checkoutDocument, writeDocument } from '../output/documents.js';
import { verdictText } from '../output/verdict.js';
import { createProgress, type ProgressMode } from '../progress/progress.js';

export interface CheckoutArgs {
  store: string;
  /** The running kernel's connection file. */
  kernel: string;
  /** Checkout this checkpoint; undefined: undo. */
  checkpointId?: string;
  allowDifferent?: boolean;
  force: boolean;
  keyFile?: string;
  trustUnsigned?: boolean;
  limits: Limits;
  json: boolean;
  progress: ProgressMode;
  signal: AbortSignal;
}

export async function checkoutCommand(args: CheckoutArgs): Promise<number> {
  const key = await verifyingKey(args.keyFile);
  const root = resolve(args.store);
  if (!existsSync(join(root, 'checkpoints'))) {
    throw new CheckpointNotFoundError(root, 'it is not a store (no checkpoints/ directory): give the directory checkpoints were written to');
  }
  const trust = { key, trustUnsigned: args.trustUnsigned ?? false };
  const store = new LocalStore(root, trust);
  if (args.checkpointId !== undefined && !(await store.list()).includes(args.checkpointId)) throw new UnknownCheckpointIdError(root, args.checkpointId);
  const call = { signal: args.signal, timeoutMs: args.limits.timeoutMs };
  const kernel = await attachKernel(args.kernel, call);
  const progress = createProgress(args.progress);
  try {
    const recorder = await Recorder.attach(kernel.client, call);
    const options = {
      ...trust,
      force: args.force,
      allowRecomputedDifferent: args.allowDifferent ?? false,
      timeoutMs: args.limits.timeoutMs,
      onProgress: progress.listener('restore'),
      signal: args.signal,
    };
    const started = performance.now();
    let report: CheckoutReport;
    try {
      report = args.checkpointId === undefined ? await undo(recorder, store, options) : await checkout(recorder, store, args.checkpointId, options);
    } catch (error) {
      // A shim this command installed: the kernel was never recorded, which says more than "nothing to undo".
      if (error instanceof NothingToUndoError && recorder.injectedByAttach) throw new KernelNotRecordedError(root);
      throw error;
    }
    const totalMs = performance.now() - started;
    progress.end();
    const command = args.checkpointId === undefined ? 'undo' : 'checkout';
    const document = checkoutDocument(command, root, args.kernel, report, totalMs);
    if (args.json) {
      writeDocument(document);
    } else {
      const names = (groups: { names: string[] }[]) => (groups.length ? `: ${groups.map((g) => g.names.join(', ')).join('; ')}` : '');
      const lines = [
        `${command}: kernel now at checkpoint ${report.checkpointId}${report.fromCheckpointId ? ` (was at ${report.fromCheckpointId})` : ''}`,
        `groups reloaded ${document.groups.reloaded.length} (${formatBytes(report.loadedBytes ?? 0)})${names(document.groups.reloaded)}`,
        `groups kept ${document.groups.kept.length}${names(document.groups.kept)}`,
        `groups recomputed ${document.groups.recomputed.length} (${report.rerunCells} cell(s) rerun)${names(document.groups.recomputed)}`,
        `names deleted ${report.deleted.length}${report.deleted.length ? `: ${report.deleted.join(', ')}` : ''}`,
        renderVerification(report.verification),
        ...report.fallbacks.map((f) => `fallback: ${f}`),
        verdictText(report.verification, args.allowDifferent ?? false),
        `${command} took ${formatMs(totalMs)}`,
      ];
      process.stdout.write(`${lines.join('\n')}\n`);
    }
    return report.verification.ok ? EXIT.ok : EXIT.incomplete;
  } finally {
    progress.end();
    // Detach only: the user's kernel keeps running.
    await kernel.detach();
  }
}
