/**
 * A live move's blobs sent to the new kernel with progress in bytes: the same staging as
 * `stagedBuffers` (small groups in their `load` request, large ones in chunks under the
 * websocket's limit), reporting `{phase: 'bytes', op: 'load', done, total}` as chunks go out, so a
 * job (GET /jobs/{id}) shows bytes and an ETA while a move runs. `done` reaches `total` at the end.
 */
import { chunkBytesFor, stagedLoader } from '@nbferry/jupyter-server';
import type { BlobSource, ProgressListener } from '@nbferry/migrate';

const sizeOf = (buffers: Uint8Array[]) => buffers.reduce((sum, b) => sum + b.byteLength, 0);

export function countedStagedBuffers(buffersByGroup: Map<string, Uint8Array[]>, onProgress?: ProgressListener): BlobSource {
  const total = [...buffersByGroup.values()].reduce((sum, buffers) => sum + sizeOf(buffers), 0);
  let done = 0;
  const add = (bytes: number) => {
    done += bytes;
    onProgress?.({ phase: 'bytes', op: 'load', done, total });
  };
  let started = false;
  return {
    kind: 'custom',
    load: async (recorder, spec, group, call) => {
      if (!started) {
        started = true;
        add(0);
      }
      const buffers = buffersByGroup.get(group);
      if (!buffers) throw new Error(`no bytes for group ${group} in this move`);
      const size = sizeOf(buffers);
      const chunkBytes = chunkBytesFor(recorder);
      let counted = 0;
      const sent = (bytes: number) => {
        counted += bytes;
        add(bytes);
      };
      const bytes = size <= chunkBytes ? buffers : () => slices(buffers, chunkBytes, sent);
      const result = await stagedLoader(() => bytes)(recorder, spec, group, call);
      add(size - counted);
      return result;
    },
  };
}

/**
 * The buffers in pieces of at most `chunkBytes` (views, no copies). The stager asks for the next
 * piece once it has sent what it holds, so a piece is counted as sent when the next one is asked for.
 */
async function* slices(buffers: Uint8Array[], chunkBytes: number, sent: (bytes: number) => void): AsyncIterable<Uint8Array> {
  let pending = 0;
  for (const buffer of buffers) {
    for (let at = 0; at < buffer.byteLength; at += chunkBytes) {
      if (pending > 0) sent(pending);
      const piece = buffer.subarray(at, Math.min(at + chunkBytes, buffer.byteLength));
      pending = piece.byteLength;
      yield piece;
    }
  }
}
