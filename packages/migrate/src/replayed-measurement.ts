/**
 * After a restore or checkout, the kernel holds a checkpoint's state: its next checkpoint need not
 * measure what came back exactly as that checkpoint measured it. This builds a measurement of the
 * kernel from the checkpoint (the fingerprints and group figures it recorded) for every variable
 * verified equal to it (`restored`, `recomputed-equal`, or kept by a checkout), and every group all
 * of whose names are; the next incremental measure (incremental.ts measureSince) reuses those and
 * measures the rest. Its blobs are then referenced, not written again (reusableBlobs), since the
 * checkpoint is the lineage point.
 */
import type { CallOptions } from '@nbferry/kernel';
import type { Recorder } from '@nbferry/recorder';
import type { Manifest } from '@nbferry/store';
import type { CheckpointBody } from './manifest-body.js';
import type { MeasuredGroup, MeasuredVariable, Measurement } from './shim-api.js';
import type { VerificationReport } from './verification.js';

interface LiveVariables {
  variables: Record<string, { type: string; module?: string; provenance: string; writer?: number }>;
  lastSeq?: number;
  unobserved?: number;
}

export interface ReplayedState {
  /** The history record the kernel's state is at once replayed. */
  seq: number;
  measurement?: Measurement;
  unobserved?: number;
}

export async function replayedState(recorder: Recorder, manifest: Manifest<CheckpointBody>, verification: VerificationReport, options: CallOptions = {}): Promise<ReplayedState> {
  const { result } = await recorder.request<LiveVariables>('variables', {}, options);
  await recorder.sync(options); // the point is after every record the replay made (loads, deletes)
  const seq = result.lastSeq ?? recorder.graph.lastSeq;
  if (result.unobserved === undefined) return { seq }; // an older shim: no reuse
  const { body } = manifest;
  const equal = new Set(verification.variables.filter((v) => v.outcome === 'restored' || v.outcome === 'recomputed-equal').map((v) => v.name));
  const variables: Record<string, MeasuredVariable & { writer: number }> = {};
  const groups: MeasuredGroup[] = [];
  for (const group of body.problem.groups) {
    if (group.names.length === 0 || !group.names.every((name) => equal.has(name) && result.variables[name] && typeof body.fingerprints.values[name] === 'string')) continue;
    const id = groups.length;
    groups.push(
      group.serializable
        ? { id, names: [...group.names], serializable: true, bytes: group.bytes, dumpSec: (group.serializeMs ?? 0) / 1000, loadSecEst: (group.loadMs ?? 0) / 1000, estimate: null }
        : { id, names: [...group.names], serializable: false, reason: group.reason ?? 'not serializable' },
    );
    for (const name of group.names) {
      const live = result.variables[name]!;
      variables[name] = {
        type: live.type,
        module: live.module ?? '',
        fingerprint: body.fingerprints.values[name]!,
        reliable: true,
        provenance: live.provenance,
        writer: live.writer ?? 0,
        group: id,
      };
    }
  }
  const measurement: Measurement = { algo: body.fingerprints.algo, pickler: '', variables, groups, seconds: 0, seq, unobserved: result.unobserved };
  return { seq, measurement, unobserved: result.unobserved };
}
