/**
 * Which checkpoint a kernel's state continues: the last one committed from it, or the one restored
 * into it. A new checkpoint of that kernel names it as `parent`, so restoring an old checkpoint and
 * working on makes a new line of history (a branch) that `log` shows.
 */
import type { Recorder } from '@nbferry/recorder';
import type { Manifest } from '@nbferry/store';
import type { CheckpointBody } from './manifest-body.js';
import type { Measurement } from './shim-api.js';

export interface LineagePoint {
  /** The store's root directory. */
  root: string;
  id: string;
  manifest: Manifest<CheckpointBody>;
  /** This kernel's history position the checkpoint's state is at (its recorder's seq); unknown: no reuse. */
  seq?: number;
  /** The kernel's measurement at `seq` (set by a checkpoint, not a restore): the next one measures only what changed. */
  measurement?: Measurement;
}

const points = new WeakMap<Recorder, LineagePoint>();

export function lastCheckpointOf(recorder: Recorder, root: string): LineagePoint | undefined {
  const point = points.get(recorder);
  return point?.root === root ? point : undefined;
}

export function setLastCheckpoint(recorder: Recorder, point: LineagePoint): void {
  points.set(recorder, point);
}
