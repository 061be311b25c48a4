/**
 * nbferry restore DIR [--python PATH | --connection-file F] [--force]: restore a checkpoint into a
 * fresh kernel (left running for the user, its connection file printed) or into a running one.
 *
 * The checkpoint is opened (and, with a key, its signature checked) before any kernel starts. A
 * fresh kernel starts in the caller's directory or --cwd: the manifest's recorded directory is
 * input from the store and is used only with --cwd-from-checkpoint.
 */
import { checkpointWorkingDirectory, formatMs, renderVerification, restore, type CheckpointBody } from '@nbferry/migrate';
import { CheckpointNotFoundError, openCheckpoint, openStore, storeScheme, type StoredCheckpoint, type TrustOptions } from '@nbferry/store';
import { UnknownCheckpointIdError, UsageError } from '../errors.js';
import { isDirectory } from '../option-values.js';
import { EXIT } from '../exit-codes.js';
import { openKernel, stopKernel } from '../kernel-options.js';
import { verifyingKey } from '../keys.js';
import type { Limits } from '../limits.js';
import { restoreDocument, writeDocument } from '../output/documents.js';
import { verdictText } from '../output/verdict.js';
import { createProgress, type ProgressMode } from '../progress/progress.js';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';

export interface RestoreArgs {
  checkpoint: string;
  /** A checkpoint of the store `checkpoint` by id (default: its latest). */
  checkpointId?: string;
  python?: string;
  connectionFile?: string;
  /** Where a fresh kernel starts (default: the current directory). */
  cwd?: string;
  /** Start a fresh kernel in the checkpoint's recorded directory (the caller's consent). */
  cwdFromCheckpoint?: boolean;
  replaceExisting?: boolean;
  /** Hand the kernel over at once, loads and reruns still running (RestoreOptions.background). */
  background?: boolean;
  allowDifferent?: boolean;
  force: boolean;
  keyFile?: string;
  trustUnsigned?: boolean;
  limits?: Limits;
  json: boolean;
  progress: ProgressMode;
  signal: AbortSignal;
}

export async function restoreCommand(args: RestoreArgs): Promise<number> {
  const key = await verifyingKey(args.keyFile);
  const trust = { key, trustUnsigned: args.trustUnsigned ?? false };
  // With a key, an untrusted checkpoint is refused here, before any kernel starts.
  const stored = args.checkpointId === undefined ? await openCheckpoint<CheckpointBody>(args.checkpoint, trust) : await openById(args.checkpoint, args.checkpointId, trust);
  const cwd = args.connectionFile ? undefined : startDirectory(stored, args);
  const kernel = await openKernel({
    python: args.python,
    connectionFile: args.connectionFile,
    cwd,
    outlive: true,
    signal: args.signal,
    timeoutMs: args.limits?.timeoutMs,
  });
  // Handed to the user only once restored and verified; an error or interruption shuts a fresh kernel down.
  let keep = false;
  const progress = createProgress(args.progress);
  try {
    const report = await restore(stored, kernel.client, {
      ...trust,
      force: args.force,
      replaceExisting: args.replaceExisting ?? false,
      allowRecomputedDifferent: args.allowDifferent ?? false,
      timeoutMs: args.limits?.timeoutMs,
      onProgress: progress.listener('restore'),
      signal: args.signal,
      background: args.background ?? false,
      onUsable: (event) => {
        if (args.json || event.inFlight.length === 0) return;
        progress.end();
        process.stdout.write(
          `kernel usable after ${formatMs(event.ms)} (${event.inFlight.length} variables still arriving; a cell that uses one waits for it): ` +
            `jupyter console --existing ${kernel.connectionFile}\n`,
        );
      },
    });
    progress.end();
    keep = true;
    if (args.json) {
      writeDocument(restoreDocument(report, kernel.connectionFile));
    } else {
      process.stdout.write(`${renderVerification(report.verification)}\n`);
      for (const fallback of report.fallbacks) process.stdout.write(`fallback: ${fallback}\n`);
      process.stdout.write(`${verdictText(report.verification, args.allowDifferent ?? false)}\n`);
      process.stdout.write(`restored in ${formatMs(report.timings.totalMs)}; kernel ready: jupyter console --existing ${kernel.connectionFile}\n`);
    }
    if (!report.verification.ok && cwd !== undefined) hintWorkingDirectory(stored, cwd);
    return report.verification.ok ? EXIT.ok : EXIT.incomplete;
  } finally {
    progress.end();
    if (keep) await kernel.detach();
    else await stopKernel(kernel, args.signal);
  }
}

/** One checkpoint of a store by id; an unknown id says how to list the ids. */
async function openById(store: string, id: string, trust: TrustOptions): Promise<StoredCheckpoint<CheckpointBody>> {
  const url = storeScheme(store) !== undefined && storeScheme(store) !== 'file';
  const root = url ? store : resolve(store);
  if (!url && !existsSync(join(root, 'checkpoints'))) {
    throw new CheckpointNotFoundError(root, `it is not a store (no checkpoints/ directory): --checkpoint ID picks a checkpoint of a store`);
  }
  const local = await openStore(root, trust);
  const ids = await local.list();
  if (!ids.includes(id)) {
    throw new UnknownCheckpointIdError(root, id);
  }
  return local.open<CheckpointBody>(id, trust);
}

/** --cwd, else with consent the checkpoint's recorded directory (if it exists here), else the current directory. */
function startDirectory(stored: StoredCheckpoint<CheckpointBody>, args: RestoreArgs): string {
  if (args.cwd !== undefined) {
    const dir = resolve(args.cwd);
    if (!isDirectory(dir)) throw new UsageError(`nbferry restore: --cwd ${args.cwd} is not a directory.`);
    return dir;
  }
  if (args.cwdFromCheckpoint) {
    const recorded = checkpointWorkingDirectory(stored, { useCheckpointCwd: true });
    if (recorded) return recorded;
    process.stderr.write(
      `nbferry restore: the checkpoint's working directory ${JSON.stringify(String(stored.manifest.body.cwd))} is not an existing absolute directory here; ` +
        `starting in ${process.cwd()}\n`,
    );
  }
  return process.cwd();
}

/** Reruns read relative paths from the kernel's directory: if it is not the checkpoint's, say so. */
function hintWorkingDirectory(stored: StoredCheckpoint<CheckpointBody>, cwd: string): void {
  const recorded = stored.manifest.body.cwd;
  if (typeof recorded !== 'string' || recorded === cwd) return;
  process.stderr.write(
    `nbferry restore: the kernel ran in ${cwd}; the checkpoint was taken in ${recorded}. If reruns read files by relative path, ` +
      'restore with --cwd DIR (where those files are) or --cwd-from-checkpoint.\n',
  );
}
