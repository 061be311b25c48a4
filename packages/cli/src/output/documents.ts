/**
 * The `--json` documents: each carries `schema: "nbferry/<kind>@1"` and has one shape wherever it
 * appears (a checkpoint is the same object in checkpoint, run, migrate and inspect). Described by
 * packages/cli/schemas/<kind>.schema.json (shipped: @nbferry/cli/schemas/, nbferry/schemas/); a change of shape is a new version there and here.
 */
import type { CheckoutReport, CheckpointBody, CheckpointTimings, RestoreReport, VariableReport } from '@nbferry/migrate';
import type { ReplicationPlan } from '@nbferry/planner';
import type { SignatureStatus, StoredCheckpoint } from '@nbferry/store';

export interface Unrecoverable {
  name: string;
  reason: string;
}

export interface PlanDocument {
  /** Variable groups written to the checkpoint. */
  serializedGroups: number;
  /** Cell executions a restore reruns (ids in the history), in order. */
  rerunCells: number[];
  /** How each variable comes back, and why. */
  variables: { name: string; decision: 'serialize' | 'recompute'; reason: string }[];
  warnings: string[];
  predicted: { checkpointMs: number; restoreMs: number; bytes: number };
}

export interface CheckpointDocument {
  schema: 'nbferry/checkpoint@1';
  /** False when the checkpoint was refused because it would lose variables (nothing written: id and path are null). */
  committed: boolean;
  id: string | null;
  /** Where the checkpoint is; null when nothing is there (refused, or written to a temporary store since removed). */
  path: string | null;
  createdAt: string | null;
  bytes: number;
  blobs: number;
  /** True when every variable can be brought back. */
  lossless: boolean;
  unrecoverable: Unrecoverable[];
  plan: PlanDocument;
  /** How long each step took; null when not known (inspect, refused). */
  timings: CheckpointTimings | null;
  deadlineMissed: boolean;
  /** Its signature as checked when it was written or opened; null when nothing was written. */
  signature: SignatureDocument | null;
}

export interface SignatureDocument {
  /** verified: signed by the configured key; signed: by a key not checked (none given, or trusted with --trust-unsigned); unsigned. */
  state: SignatureStatus['state'];
  keyId: string | null;
}

export function signatureDocument(status: SignatureStatus): SignatureDocument {
  return { state: status.state, keyId: status.state === 'unsigned' ? null : status.keyId };
}

export function planDocument(plan: ReplicationPlan): PlanDocument {
  return {
    serializedGroups: plan.serialize.length,
    rerunCells: [...plan.rerun],
    variables: plan.variables.map((v) => ({ name: v.name, decision: v.decision, reason: v.reason })),
    warnings: [...plan.warnings],
    predicted: { checkpointMs: plan.predicted.checkpointMs, restoreMs: plan.predicted.restoreMs, bytes: plan.predicted.bytes },
  };
}

/** A committed checkpoint; `path: null` when its store is about to be removed. */
export function checkpointDocument(
  stored: StoredCheckpoint<CheckpointBody>,
  extra: { timings?: CheckpointTimings; deadlineMissed?: boolean; kept?: boolean } = {},
): CheckpointDocument {
  const { manifest } = stored;
  const kept = extra.kept ?? true;
  return {
    schema: 'nbferry/checkpoint@1',
    committed: true,
    id: manifest.id,
    path: kept ? stored.dir : null,
    createdAt: manifest.createdAt,
    bytes: manifest.blobs.reduce((sum, b) => sum + b.bytes, 0),
    blobs: manifest.blobs.length,
    lossless: manifest.body.unrecoverable.length === 0,
    unrecoverable: manifest.body.unrecoverable.map((u) => ({ name: u.name, reason: u.reason })),
    plan: planDocument(manifest.body.plan),
    // The manifest is written before the commit is timed: only a fresh checkpoint has whole timings.
    timings: extra.timings ?? null,
    deadlineMissed: extra.deadlineMissed ?? false,
    signature: signatureDocument(stored.signatureStatus),
  };
}

/** A checkpoint refused because it would lose variables: nothing was written. */
export function refusedCheckpointDocument(unrecoverable: Unrecoverable[], plan: ReplicationPlan): CheckpointDocument {
  return {
    schema: 'nbferry/checkpoint@1',
    committed: false,
    id: null,
    path: null,
    createdAt: null,
    bytes: 0,
    blobs: 0,
    lossless: false,
    unrecoverable: unrecoverable.map((u) => ({ name: u.name, reason: u.reason })),
    plan: planDocument(plan),
    timings: null,
    deadlineMissed: false,
    signature: null,
  };
}

export interface RestoreDocument {
  schema: 'nbferry/restore@1';
  /** Nothing lost and nothing loaded differs. */
  ok: boolean;
  /** The restored kernel's connection file when it was left running for the user, else null. */
  connectionFile: string | null;
  totals: RestoreReport['verification']['totals'];
  variables: VariableReport[];
  fallbacks: string[];
  loadedGroups: number;
  rerunCells: number;
  timings: RestoreReport['timings'];
}

export function restoreDocument(report: RestoreReport, connectionFile: string | null): RestoreDocument {
  return {
    schema: 'nbferry/restore@1',
    ok: report.verification.ok,
    connectionFile,
    totals: report.verification.totals,
    variables: report.verification.variables.map((v) => ({ name: v.name, outcome: v.outcome, detail: v.detail })),
    fallbacks: [...report.fallbacks],
    loadedGroups: report.loadedGroups,
    rerunCells: report.rerunCells,
    timings: report.timings,
  };
}

/** One variable group of a checkout, and what the checkout did with it. */
export interface CheckoutGroupDocument {
  id: string;
  names: string[];
  /** Serialized size (as measured at checkpoint). */
  bytes: number;
}

export interface CheckoutDocument {
  schema: 'nbferry/checkout@1';
  /** Nothing lost and nothing loaded differs. */
  ok: boolean;
  command: 'undo' | 'checkout';
  store: string;
  /** The running kernel (left running). */
  connectionFile: string;
  /** The checkpoint the kernel now holds. */
  checkpointId: string;
  /** The checkpoint the kernel continued before, or null if it had none in this store. */
  fromCheckpointId: string | null;
  groups: { reloaded: CheckoutGroupDocument[]; kept: CheckoutGroupDocument[]; recomputed: CheckoutGroupDocument[] };
  loadedBytes: number;
  rerunCells: number;
  /** Names bound since that checkpoint: deleted. */
  deleted: string[];
  /** Names fingerprinted again before keeping them (code ran outside recorded cells since the kernel's last checkpoint). */
  refingerprinted: string[];
  totals: RestoreReport['verification']['totals'];
  variables: VariableReport[];
  fallbacks: string[];
  timings: RestoreReport['timings'] & { commandMs: number };
}

export function checkoutDocument(command: 'undo' | 'checkout', store: string, connectionFile: string, report: CheckoutReport, commandMs: number): CheckoutDocument {
  const kept = new Set(report.keptGroups ?? []);
  const group = (g: { id: string; names: readonly string[]; bytes: number }): CheckoutGroupDocument => ({ id: g.id, names: [...g.names], bytes: g.bytes });
  const groups = report.plan.groups;
  return {
    schema: 'nbferry/checkout@1',
    ok: report.verification.ok,
    command,
    store,
    connectionFile,
    checkpointId: report.checkpointId,
    fromCheckpointId: report.fromCheckpointId ?? null,
    groups: {
      reloaded: groups.filter((g) => !kept.has(g.id) && g.decision === 'serialize').map(group),
      kept: groups.filter((g) => kept.has(g.id)).map(group),
      recomputed: groups.filter((g) => !kept.has(g.id) && g.decision !== 'serialize').map(group),
    },
    loadedBytes: report.loadedBytes ?? 0,
    rerunCells: report.rerunCells,
    deleted: [...report.deleted],
    refingerprinted: [...report.refingerprinted],
    totals: report.verification.totals,
    variables: report.verification.variables.map((v) => ({ name: v.name, outcome: v.outcome, detail: v.detail })),
    fallbacks: [...report.fallbacks],
    timings: { ...report.timings, commandMs },
  };
}

export interface RunDocument {
  schema: 'nbferry/run@1';
  notebook: string;
  cells: number;
  ran: number;
  /** 1-based index of the first cell that failed unexpectedly, or null. */
  failedCell: number | null;
  runMs: number;
  kernelReadyMs: number;
  /** The checkpoint taken after the run (--checkpoint; with --auto-checkpoint the last one committed), or null. */
  checkpoint: CheckpointDocument | null;
  /** With --auto-checkpoint: its counts; else null. */
  autoCheckpoint: AutoCheckpointDocument | null;
}

export interface MigrateDocument {
  schema: 'nbferry/migrate@1';
  notebook: string;
  /** 1-based index of the first cell that failed unexpectedly (the state is migrated as it is), or null. */
  failedCell: number | null;
  ok: boolean;
  migrationMs: number;
  targetWaitMs: number;
  rerunAllMs: number;
  checkpoint: CheckpointDocument;
  /** The target kernel is shut down after verifying: connectionFile is null. */
  restore: RestoreDocument;
}

export interface ForkDocument {
  schema: 'nbferry/fork@1';
  /** Every child restored whole. */
  ok: boolean;
  /** The one checkpoint every child was restored from. */
  checkpoint: CheckpointDocument;
  /** One restore per child, each with the connection file of its kernel (left running). */
  children: RestoreDocument[];
  timings: { checkpointMs: number; targetsReadyMs: number; restoreMs: number; totalMs: number; pipelined?: boolean };
}

export interface InspectDocument {
  schema: 'nbferry/inspect@1';
  /** All blobs intact. */
  ok: boolean;
  checkpointsInStore: string[];
  checkpoint: CheckpointDocument;
  /** The checkpoint its state continued (format 2), or null. */
  parent: string | null;
  /** Bytes it added to the store and its blobs' total (format 2), or null. */
  stats: { newBytes: number; totalBytes: number } | null;
  environment: { python: string; platform: string; packages: Record<string, string> };
  executions: number;
  blobs: { file: string; bytes: number; checksum: string; group: string; variables: string[]; intact: boolean }[];
}

export interface LogDocument {
  schema: 'nbferry/log@1';
  /** Every checkpoint could be read (and, with a key, is trusted). */
  ok: boolean;
  store: string;
  /** Oldest first. */
  checkpoints: LogEntryDocument[];
}

export interface LogEntryDocument {
  id: string;
  /** Empty when unreadable. */
  createdAt: string;
  /** The checkpoint this one's state continued, or null. */
  parent: string | null;
  /** Checkpoints continuing this one (more than one: a branch). */
  children: string[];
  latest: boolean;
  executionCount: number | null;
  /** First line of the last cell the state includes. */
  cell: string;
  /** Bytes this checkpoint added to the store (null for format 1 stores). */
  newBytes: number | null;
  totalBytes: number;
  variablesChanged: string[];
  /** Why the checkpoint could not be read, or null. */
  error: string | null;
}

export interface GcDocument {
  schema: 'nbferry/gc@1';
  store: string;
  deletedCheckpoints: string[];
  keptCheckpoints: string[];
  deletedChunks: number;
  freedBytes: number;
  /** False when unreferenced chunks were not deleted (why in `skipped`). */
  swept: boolean;
  skipped: string | null;
}

/** What --auto-checkpoint did during a run. */
export interface AutoCheckpointDocument {
  committed: number;
  /** Preempted by a cell: nothing committed. */
  abandoned: number;
  failed: number;
  /** The last checkpoint committed from the run's kernel, or null. */
  lastCheckpointId: string | null;
}

export interface KeygenDocument {
  schema: 'nbferry/keygen@1';
  keyId: string;
  /** The private key (mode 0600): signs and verifies. */
  keyFile: string;
  /** The public key: verifies only. */
  publicKeyFile: string;
}

export interface ErrorDocument {
  schema: 'nbferry/error@1';
  /** Stable code of the error (e.g. USAGE, CHECKPOINT_NOT_FOUND, KERNEL_DIED). */
  code: string;
  name: string;
  message: string;
  exitCode: number;
}

export type Document = CheckpointDocument | RestoreDocument | CheckoutDocument | RunDocument | MigrateDocument | ForkDocument | InspectDocument | KeygenDocument | LogDocument | GcDocument | ErrorDocument;

export function writeDocument(document: Document): void {
  process.stdout.write(`${JSON.stringify(document, null, 2)}\n`);
}
