/**
 * Incremental checkpoints: a group unchanged since the kernel's last checkpoint in this store is not
 * pickled or written again; its blob entry (its chunks) is reused. "Unchanged" needs both witnesses:
 * no history record since that checkpoint wrote any of its names (cells, changes outside cells,
 * loads), and every name's content fingerprint, measured now, equals the one the checkpoint
 * recorded. Any doubt (no reliable fingerprint, other group members, another fingerprint algorithm,
 * a history that restarted, a chunk gone) means the group is saved again.
 */
import { lstat } from 'node:fs/promises';
import type { Recorder } from '@nbferry/recorder';
import { chunkPath, chunkSpans, type BlobEntry, type RemoteChunks } from '@nbferry/store';
import { recordsSince, type LineagePoint } from './lineage.js';
import { groupId, saveableId } from './planning-problem.js';
import type { MeasureSince, Measurement } from './shim-api.js';

/** Planner group id -> the previous checkpoint's blob entry to reuse (its `group` set to that id). */
export async function reusableBlobs(
  recorder: Recorder,
  measurement: Measurement,
  previous: LineagePoint | undefined,
  /** The local store's chunks directory, or a remote store's chunks. */
  chunksDir: string | RemoteChunks,
): Promise<Map<string, BlobEntry>> {
  const reused = new Map<string, BlobEntry>();
  if (!previous || previous.seq === undefined) return reused;
  const before = previous.manifest.body.fingerprints;
  const since = recordsSince(recorder, previous.seq);
  if (before.algo !== measurement.algo || !since) return reused;
  const touched = new Set<string>();
  for (const record of since) {
    for (const name of [...record.created, ...record.modified, ...record.deleted]) touched.add(name);
  }
  const byNames = new Map(previous.manifest.blobs.filter((b) => b.chunks).map((b) => [[...b.variables].sort().join('\0'), b]));
  for (const group of measurement.groups) {
    // What a plan may save of the group: all of it, or the half that pickles (planning-problem.ts).
    const saved = group.serializable ? { id: groupId(group), names: group.names } : group.saveable && { id: saveableId(group), names: group.saveable.names };
    if (!saved) continue;
    const entry = byNames.get([...saved.names].sort().join('\0'));
    if (!entry) continue;
    const same = saved.names.every((name) => {
      const now = measurement.variables[name];
      return !touched.has(name) && now?.reliable === true && now.fingerprint !== null && now.fingerprint === before.values[name];
    });
    if (same && (await chunksPresent(chunksDir, entry))) reused.set(saved.id, { ...entry, group: saved.id });
  }
  return reused;
}

/** The caller holds a staging lease, so gc cannot sweep these chunks between this check and the commit. */
async function chunksPresent(chunksDir: string | RemoteChunks, entry: BlobEntry): Promise<boolean> {
  for (const { digest, bytes } of chunkSpans(entry)) {
    if (typeof chunksDir !== 'string') {
      if (!(await chunksDir.has(digest, bytes))) return false;
      continue;
    }
    const info = await lstat(chunkPath(chunksDir, digest)).catch(() => undefined);
    if (!info?.isFile() || info.size !== bytes) return false;
  }
  return true;
}

/**
 * What the next measure can reuse (shim-api MeasureSince): the lineage point's measurement and the
 * names written since (after a restore or checkout, the checked-out checkpoint's figures for what
 * came back equal: replayed-measurement.ts). Undefined (measure everything) whenever in doubt: no
 * measurement kept (an older shim), a history that restarted or lost records, a cell that may have touched
 * any name (`readsAll`), or a change made outside recorded cells. The shim also measures everything
 * when code it did not record ran since the previous measurement (its `unobserved` count moved).
 */
export function measureSince(recorder: Recorder, previous: LineagePoint | undefined): MeasureSince | undefined {
  const measurement = previous?.measurement;
  if (!measurement || previous.seq === undefined || measurement.seq !== previous.seq) return undefined;
  const since = recordsSince(recorder, previous.seq);
  if (!since) return undefined;
  const changed = new Set<string>();
  for (const record of since) {
    if (record.kind !== 'cell' || record.readsAll) return undefined;
    for (const name of [...record.created, ...record.modified, ...record.deleted]) changed.add(name);
  }
  return { previous: measurement, changed: [...changed].sort(), since: recorder.graph.lastSeq };
}
