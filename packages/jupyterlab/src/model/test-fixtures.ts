/** Builders of the server side's answers for the unit tests (shapes as in the contract's amendments). */
import type { HistoryEntry, KernelState, Plan } from './api-types.js';

export function entry(id: string, over: Partial<HistoryEntry> = {}): HistoryEntry {
  return {
    id,
    created: null,
    parent: null,
    cell: null,
    bytesWritten: null,
    totalBytes: null,
    changed: null,
    trigger: null,
    latest: null,
    error: null,
    ...over,
  };
}

export function kernel(over: Partial<KernelState> = {}): KernelState {
  return { id: 'k1', store: 'nb', unsaveable: [], ...over };
}

export function plan(over: Partial<Plan> = {}): Plan {
  return { checkpointId: 'c1', variables: [], unsaveable: [], warnings: [], ...over };
}
