/**
 * Defensive readers of the server side's JSON: a missing optional field becomes null, a wrong type
 * where the UI needs the field is a BadResponseError (never a crash deep in a widget).
 */
import type {
  Announcement,
  AnnouncementKind,
  AttachResponse,
  BranchResponse,
  CheckpointSummary,
  HistoryEntry,
  Job,
  KernelState,
  MoveTarget,
  Plan,
  PlanDecision,
  PlanVariable,
  Unsaveable,
} from './api-types.js';
import { BadResponseError, isRecord } from './errors.js';

const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);
const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);
const strings = (v: unknown): string[] | null => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : null);

function record(what: string, v: unknown): Record<string, unknown> {
  if (!isRecord(v)) throw new BadResponseError(what, `expected an object, got ${v === null ? 'null' : typeof v}`);
  return v;
}

function requiredString(what: string, o: Record<string, unknown>, key: string): string {
  const v = o[key];
  if (typeof v !== 'string' || v === '') throw new BadResponseError(what, `"${key}" is missing`);
  return v;
}

function unsaveableList(v: unknown): Unsaveable[] {
  if (!Array.isArray(v)) return [];
  return v.flatMap((x): Unsaveable[] => {
    if (typeof x === 'string') return [{ name: x, reason: '' }];
    if (isRecord(x) && typeof x.name === 'string') return [{ name: x.name, reason: str(x.reason) ?? '' }];
    return [];
  });
}

function checkpointSummary(v: unknown): CheckpointSummary | undefined {
  if (!isRecord(v) || typeof v.id !== 'string') return undefined;
  const s: CheckpointSummary = { id: v.id, unrecoverable: unsaveableList(v.unrecoverable) };
  const createdAt = str(v.createdAt);
  if (createdAt !== null) s.createdAt = createdAt;
  const trigger = str(v.trigger);
  if (trigger !== null) s.trigger = trigger;
  const newBytes = num(v.newBytes);
  if (newBytes !== null) s.newBytes = newBytes;
  const totalBytes = num(v.totalBytes);
  if (totalBytes !== null) s.totalBytes = totalBytes;
  const durationMs = num(v.durationMs);
  if (durationMs !== null) s.durationMs = durationMs;
  return s;
}

export function parseKernelState(v: unknown): KernelState {
  const o = record('kernel state', v);
  const state: KernelState = { id: requiredString('kernel state', o, 'id'), unsaveable: unsaveableList(o.unsaveable) };
  const store = str(o.store);
  if (store !== null) state.store = store;
  if (typeof o.protected === 'boolean') state.protected = o.protected;
  const lastCell = num(o.lastCell);
  if (lastCell !== null) state.lastCell = lastCell;
  const last = checkpointSummary(o.lastCheckpoint);
  if (last) state.lastCheckpoint = last;
  if (isRecord(o.lastError)) {
    const e: NonNullable<KernelState['lastError']> = {};
    const at = str(o.lastError.at);
    if (at !== null) e.at = at;
    const code = str(o.lastError.code);
    if (code !== null) e.code = code;
    const message = str(o.lastError.message);
    if (message !== null) e.message = message;
    state.lastError = e;
  }
  return state;
}

export function parseAttach(v: unknown): AttachResponse {
  const o = record('attach response', v);
  const r: AttachResponse = { id: requiredString('attach response', o, 'id'), store: str(o.store) ?? '' };
  const notebookPath = str(o.notebookPath);
  if (notebookPath !== null) r.notebookPath = notebookPath;
  return r;
}

/** The history arrives newest first, either as a bare array or as `{checkpoints: [...]}`. */
export function parseHistory(v: unknown): HistoryEntry[] {
  const list = Array.isArray(v) ? v : isRecord(v) && Array.isArray(v.checkpoints) ? v.checkpoints : null;
  if (list === null) throw new BadResponseError('history', 'expected a list of checkpoints');
  return list.flatMap((x): HistoryEntry[] => {
    if (!isRecord(x) || typeof x.id !== 'string') return [];
    const cell = isRecord(x.cell) ? { executionCount: num(x.cell.executionCount), firstLine: str(x.cell.firstLine) } : null;
    return [
      {
        id: x.id,
        created: str(x.created),
        parent: str(x.parent),
        cell,
        bytesWritten: num(x.bytesWritten),
        totalBytes: num(x.totalBytes),
        changed: strings(x.changed),
        trigger: str(x.trigger),
        latest: typeof x.latest === 'boolean' ? x.latest : null,
        error: str(x.error),
      },
    ];
  });
}

const DECISIONS: readonly PlanDecision[] = ['save', 'recompute', 'lost'];

export function parsePlan(v: unknown): Plan {
  const o = record('plan', v);
  const variables = (Array.isArray(o.variables) ? o.variables : []).flatMap((x): PlanVariable[] => {
    if (!isRecord(x) || typeof x.name !== 'string') return [];
    const decision = DECISIONS.find((d) => d === x.decision) ?? 'lost';
    return [{ name: x.name, decision, reason: str(x.reason), bytes: num(x.bytes), group: str(x.group) }];
  });
  return { checkpointId: str(o.checkpointId), variables, unsaveable: unsaveableList(o.unsaveable), warnings: strings(o.warnings) ?? [] };
}

const KINDS: readonly AnnouncementKind[] = ['cull', 'eviction', 'move', 'info'];

export function parseAnnouncements(v: unknown): Announcement[] {
  const o = record('announcements', v);
  if (!Array.isArray(o.announcements)) throw new BadResponseError('announcements', '"announcements" is not a list');
  return o.announcements.flatMap((x): Announcement[] => {
    if (!isRecord(x) || typeof x.id !== 'string' || typeof x.message !== 'string') return [];
    return [
      {
        id: x.id,
        kind: KINDS.find((k) => k === x.kind) ?? 'info',
        message: x.message,
        deadline: str(x.deadline),
        kernels: strings(x.kernels),
        created: str(x.created) ?? '',
      },
    ];
  });
}

export function parseJob(v: unknown): Job {
  const o = record('job', v);
  const state = o.state === 'done' || o.state === 'failed' || o.state === 'running' ? o.state : null;
  if (state === null) throw new BadResponseError('job', `"state" is ${JSON.stringify(o.state)}`);
  const err = isRecord(o.error) ? { code: str(o.error.code) ?? 'JOB_FAILED', message: str(o.error.message) ?? 'the job failed' } : null;
  return {
    state,
    phase: str(o.phase),
    bytesDone: num(o.bytesDone) ?? 0,
    bytesTotal: num(o.bytesTotal),
    etaSeconds: num(o.etaSeconds),
    result: o.result ?? null,
    error: err,
  };
}

/** A `202 {"job": id}` answer of a long operation started with ?async=1, else null. */
export function jobIdOf(v: unknown): string | null {
  return isRecord(v) && typeof v.job === 'string' && v.job !== '' ? v.job : null;
}

export function parseTargets(v: unknown): MoveTarget[] {
  const o = record('move targets', v);
  if (!Array.isArray(o.targets)) throw new BadResponseError('move targets', '"targets" is not a list');
  return o.targets.flatMap((x): MoveTarget[] => {
    if (!isRecord(x) || typeof x.id !== 'string') return [];
    return [
      {
        id: x.id,
        label: str(x.label) ?? x.id,
        description: str(x.description),
        body: isRecord(x.body) ? x.body : {},
      },
    ];
  });
}

export function parseBranch(v: unknown): BranchResponse {
  const o = record('branch response', v);
  return {
    jupyterKernelId: requiredString('branch response', o, 'jupyterKernelId'),
    id: str(o.id) ?? '',
    outcome: o.outcome ?? null,
  };
}
