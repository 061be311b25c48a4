/**
 * The shapes the extension reads from the server side (see /work/briefs/lab-contract.md and
 * packages/service/src/openapi.json). Every field the service may omit is optional: the parsers in
 * this folder read defensively, so an older or newer service never breaks the UI.
 */

export interface Unsaveable {
  name: string;
  reason: string;
}

export interface CheckpointSummary {
  id: string;
  createdAt?: string;
  trigger?: string;
  newBytes?: number;
  totalBytes?: number;
  durationMs?: number;
  unrecoverable?: Unsaveable[];
}

export interface KernelState {
  id: string;
  store?: string;
  protected?: boolean;
  lastCell?: number;
  lastCheckpoint?: CheckpointSummary;
  unsaveable?: Unsaveable[];
  lastError?: { at?: string; code?: string; message?: string };
}

export interface AttachResponse {
  id: string;
  store: string;
  notebookPath?: string;
}

export interface HistoryEntry {
  id: string;
  created: string | null;
  parent: string | null;
  cell: { executionCount: number | null; firstLine: string | null } | null;
  bytesWritten: number | null;
  totalBytes: number | null;
  changed: string[] | null;
  trigger: string | null;
  /** The checkpoint the store's head points at (after an undo, not the newest one); null if not said. */
  latest: boolean | null;
  /** Why this checkpoint is damaged or unreadable, when the service found it so. */
  error: string | null;
}

export type PlanDecision = 'save' | 'recompute' | 'lost';

export interface PlanVariable {
  name: string;
  decision: PlanDecision;
  reason: string | null;
  bytes: number | null;
  group: string | null;
}

export interface Plan {
  checkpointId: string | null;
  variables: PlanVariable[];
  unsaveable: Unsaveable[];
  /** The planner's warnings about this checkpoint. */
  warnings: string[];
}

export type AnnouncementKind = 'cull' | 'eviction' | 'move' | 'info';

export interface Announcement {
  id: string;
  kind: AnnouncementKind;
  message: string;
  deadline: string | null;
  /** Jupyter kernel ids it concerns; null: every kernel of this server. */
  kernels: string[] | null;
  created: string;
}

export interface Job {
  state: 'running' | 'done' | 'failed';
  phase: string | null;
  bytesDone: number;
  bytesTotal: number | null;
  etaSeconds: number | null;
  result: unknown;
  error: { code: string; message: string } | null;
}

/** Where "move to…" can send the kernel: the body is what to POST to the kernel's migrate route. */
export interface MoveTarget {
  id: string;
  label: string;
  description: string | null;
  body: Record<string, unknown>;
}

export interface BranchResponse {
  jupyterKernelId: string;
  id: string;
  outcome: unknown;
}
