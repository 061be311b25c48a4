/**
 * The user is back: their server runs again. Restore each suspended notebook's checkpoint into a
 * session at the notebook's path (a kernel started in the notebook's directory, or the kernel of a
 * session the user already opened), so JupyterLab opening the notebook attaches to it. Every
 * variable is verified; the report goes to the status endpoint, the log and the user.
 */
import { restoreOnReturn, type ServerApi } from '@nbferry/jupyter-server';
import type { CheckpointBody } from '@nbferry/migrate';
import { openStore, storeScheme, type CheckpointStore } from '@nbferry/store';
import type { SuspendRecord } from './user-stores.js';

export interface RestoredSession {
  path: string;
  checkpointId: string;
  ok: boolean;
  kernelId?: string;
  totals?: Record<string, number>;
  lost?: { name: string; detail: string }[];
  different?: string[];
  totalMs?: number;
  error?: string;
}

export interface RestoreServerOptions {
  signal?: AbortSignal;
  timeoutMs?: number;
}

export async function restoreServer(api: ServerApi, record: SuspendRecord, options: RestoreServerOptions = {}): Promise<RestoredSession[]> {
  const results: RestoredSession[] = [];
  for (const session of record.sessions) {
    if (session.path === null) continue; // no notebook to attach it to: its store keeps it (nbferry restore)
    const t0 = performance.now();
    // An object store's checkpoint is read through its store (its chunks come from the bucket).
    let store: CheckpointStore | undefined;
    try {
      if (storeScheme(session.storeDir) !== undefined) store = await openStore(session.storeDir);
      const { kernelId, report } = await restoreOnReturn({
        server: api,
        checkpoint: store ? await store.open<CheckpointBody>(session.checkpointId) : session.checkpointDir,
        sessionPath: session.path,
        kernelName: session.kernelName,
        signal: options.signal,
        timeoutMs: options.timeoutMs,
      });
      const variables = report.verification.variables;
      results.push({
        path: session.path,
        checkpointId: session.checkpointId,
        ok: report.verification.ok,
        kernelId,
        totals: { ...report.verification.totals },
        lost: variables.filter((v) => v.outcome === 'lost').map((v) => ({ name: v.name, detail: v.detail })),
        different: variables.filter((v) => v.outcome === 'recomputed-different').map((v) => v.name),
        totalMs: Math.round(performance.now() - t0),
      });
    } catch (error) {
      results.push({ path: session.path, checkpointId: session.checkpointId, ok: false, error: (error as Error).message, totalMs: Math.round(performance.now() - t0) });
    } finally {
      store?.close?.();
    }
  }
  return results;
}

/** One line per notebook, for the user and the log. */
export function describeRestore(results: RestoredSession[]): string {
  if (results.length === 0) return 'nothing to restore (no notebook had a kernel)';
  return results
    .map((r) => {
      if (r.error) return `${r.path}: NOT restored (${r.error}); its checkpoint ${r.checkpointId} is kept`;
      const totals = Object.entries(r.totals ?? {})
        .filter(([, n]) => n > 0)
        .map(([k, n]) => `${n} ${k}`)
        .join(', ');
      return `${r.path}: restored from ${r.checkpointId}${r.ok ? '' : ' WITH PROBLEMS'} (${totals || 'no variables'})` +
        (r.lost?.length ? `; lost: ${r.lost.map((l) => `${l.name} (${l.detail})`).join(', ')}` : '') +
        (r.different?.length ? `; recomputed with another value: ${r.different.join(', ')}` : '');
    })
    .join('\n');
}
