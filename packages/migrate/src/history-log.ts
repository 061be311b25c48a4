/**
 * A store's history: every committed checkpoint with its parent (the checkpoint its kernel's state
 * continued: the previous checkpoint of that kernel, or the one restored into it), the cell it
 * followed, the bytes it added and the variables that changed since its parent. Two checkpoints
 * with the same parent are a branch (an old checkpoint restored and worked on).
 */
import type { CheckpointStore, StoredCheckpoint, TrustOptions } from '@nbferry/store';
import type { CheckpointBody } from './manifest-body.js';
import { formatBytes } from './report.js';

export interface LogEntry {
  id: string;
  createdAt: string;
  parent?: string;
  /** Ids of the checkpoints that continue this one (more than one: the history branched here). */
  children: string[];
  latest: boolean;
  /** Execution count and first line of the last cell the checkpoint's state includes. */
  executionCount: number | null;
  cell: string;
  /** Bytes this checkpoint added to the store (undefined for format 1) and its blobs' total. */
  newBytes?: number;
  totalBytes: number;
  /** Variables created, changed or deleted since the parent (every variable when there is none). */
  variablesChanged: string[];
  /** Set when the checkpoint could not be read (damaged, untrusted): the other fields are empty. */
  error?: string;
}

/** Every checkpoint in the store, oldest first. With a key, untrusted ones are listed with an error. */
export async function log(store: CheckpointStore, trust: TrustOptions = store.options): Promise<LogEntry[]> {
  const latest = await store.latestId().catch(() => undefined);
  const opened = new Map<string, StoredCheckpoint<CheckpointBody> | Error>();
  for (const id of await store.list()) {
    opened.set(id, await store.open<CheckpointBody>(id, trust).catch((error: unknown) => error as Error));
  }
  const entries: LogEntry[] = [];
  for (const [id, checkpoint] of opened) {
    if (checkpoint instanceof Error) {
      entries.push({ id, createdAt: '', children: [], latest: id === latest, executionCount: null, cell: '', totalBytes: 0, variablesChanged: [], error: checkpoint.message });
      continue;
    }
    const { manifest } = checkpoint;
    const parent = manifest.parent ? opened.get(manifest.parent) : undefined;
    const lastCell = [...manifest.body.history.executions].reverse().find((r) => r.kind === 'cell');
    entries.push({
      id,
      createdAt: manifest.createdAt,
      ...(manifest.parent ? { parent: manifest.parent } : {}),
      children: [],
      latest: id === latest,
      executionCount: lastCell?.executionCount ?? null,
      cell: firstLine(lastCell?.code ?? ''),
      ...(manifest.stats ? { newBytes: manifest.stats.newBytes } : {}),
      totalBytes: manifest.blobs.reduce((sum, b) => sum + b.bytes, 0),
      variablesChanged: changedSince(manifest.body, parent && !(parent instanceof Error) ? parent.manifest.body : undefined),
    });
  }
  for (const entry of entries) if (entry.parent) entries.find((e) => e.id === entry.parent)?.children.push(entry.id);
  return entries.sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.id.localeCompare(b.id));
}

function changedSince(body: CheckpointBody, parent: CheckpointBody | undefined): string[] {
  const now = body.fingerprints.values;
  if (!parent) return Object.keys(now).sort();
  const before = parent.fingerprints.values;
  const names = new Set([...Object.keys(now), ...Object.keys(before)]);
  // A variable without a fingerprint (null) cannot be shown unchanged: it is listed.
  return [...names].filter((n) => !(n in now && n in before && now[n] !== null && now[n] === before[n])).sort();
}

/** `nbferry log` text: one line per checkpoint, newest last, branches marked. */
export function renderLog(entries: readonly LogEntry[]): string {
  return entries
    .map((e) => {
      if (e.error) return `${e.id}  unreadable: ${e.error}`;
      const marks = [e.latest ? 'LATEST' : '', e.children.length > 1 ? `branches: ${e.children.join(', ')}` : ''].filter(Boolean).join('; ');
      const bytes = e.newBytes === undefined ? formatBytes(e.totalBytes) : `+${formatBytes(e.newBytes)} of ${formatBytes(e.totalBytes)}`;
      const changed = e.variablesChanged.length > 6 ? `${e.variablesChanged.slice(0, 6).join(', ')}, … (${e.variablesChanged.length})` : e.variablesChanged.join(', ');
      return `${e.id}  ${e.createdAt}  parent ${e.parent ?? '-'}  [${e.executionCount ?? '?'}] ${e.cell}  ${bytes}  changed: ${changed || '-'}${marks ? `  (${marks})` : ''}`;
    })
    .join('\n');
}

function firstLine(code: string): string {
  const line = code.split('\n').find((l) => l.trim() !== '') ?? '';
  return line.length > 60 ? `${line.slice(0, 57)}...` : line;
}
