/**
 * Blobs of a store the kernel cannot reach (an object store): they travel through the coordinator
 * chunk by chunk, never whole.
 *
 * - saveToRemote: the kernel pickles a group and names its chunks (`save_open`); for each chunk the
 *   store lacks, the coordinator pulls it (`save_read`, one chunk per reply) and uploads it, at most
 *   `remote.concurrency` at once. Memory: about 2 × concurrency × chunk size (8 MiB).
 * - remoteBlobSource: restore's blob source: chunks are fetched `concurrency` ahead, checked against
 *   their names, and staged into the kernel in order (`stage_chunk`, below a Jupyter Server's
 *   10 MiB message limit) into one buffer of the blob's size; the kernel hashes each chunk as it
 *   arrives and refuses one that does not match its name (the coordinator does not hash them: one
 *   pass, end to end), then loads the buffer in place (`load {staged}`), checking the blob's
 *   checksum from those digests.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { CallOptions } from '@nbferry/kernel';
import { ShimRequestError, type Recorder } from '@nbferry/recorder';
import { chunkSpans, type RemoteChunks, type StoredCheckpoint } from '@nbferry/store';
import { StateChangedError } from './errors.js';
import type { BlobSource } from './restore.js';
import type { LoadResult, SaveGuard, SavedBlob } from './shim-api.js';

/** Bytes per `stage_chunk` message: below a Jupyter Server's 10 MiB websocket limit with room for the header. */
const STAGE_BYTES = 8 * 1024 * 1024;

interface OpenReply {
  names: string[];
  ok: boolean;
  key?: string;
  bytes?: number;
  checksum?: string;
  chunks?: string[];
  sizes?: number[];
  error?: SavedBlob['error'];
  seconds: number;
  moved?: { expected: number; seq: number };
}

let labels = 0;

/** Saves each group's blob into `remote` (see above); SavedBlob as the shim's `save` with chunks returns it. */
export async function saveToRemote(
  recorder: Recorder,
  groups: string[][],
  remote: RemoteChunks,
  options: CallOptions = {},
  guard: SaveGuard = {},
  onBytes?: (stored: number) => void,
): Promise<SavedBlob[]> {
  const out: SavedBlob[] = [];
  let stored = 0;
  for (const names of groups) {
    const args = guard.seq === undefined ? { groups: [names] } : { groups: [names], seq: guard.seq };
    const { result } = await recorder.request<OpenReply>('save_open', args, options);
    if (result.moved) throw new StateChangedError(result.moved.expected, result.moved.seq);
    if (!result.ok) {
      out.push({ names: result.names, ok: false, error: result.error, seconds: result.seconds } as SavedBlob);
      continue;
    }
    const key = result.key!;
    const chunks = result.chunks!;
    const sizes = result.sizes!;
    let newBytes = 0;
    try {
      await eachLimited(chunks.length, remote.concurrency, async (index) => {
        const digest = chunks[index]!;
        if (!(await remote.has(digest, sizes[index]!, options.signal))) {
          const { buffers } = await recorder.request('save_read', { key, index }, options);
          if (await remote.put(digest, buffers, options.signal, { knownAbsent: true })) newBytes += sizes[index]!;
        }
        stored += sizes[index]!;
        onBytes?.(stored);
      });
    } finally {
      await recorder.request('save_close', { keys: [key] }, { timeoutMs: 30_000 }).catch(() => {});
    }
    out.push({
      names: result.names,
      ok: true,
      // A label unique in the manifest (reused entries of earlier checkpoints keep theirs): no such file exists.
      file: `group-${String(labels++).padStart(4, '0')}-${randomBytes(4).toString('hex')}.nbf`,
      bytes: result.bytes!,
      checksum: result.checksum!,
      chunks,
      newBytes,
      seconds: result.seconds,
    } as SavedBlob);
  }
  return out;
}

/** Restore's blob source for a checkpoint in a remote store (see above). */
export function remoteBlobSource(checkpoint: StoredCheckpoint, remote: RemoteChunks): BlobSource {
  const byGroup = new Map(checkpoint.manifest.blobs.map((b) => [b.group, b]));
  return {
    kind: 'custom',
    load: async (recorder, spec, group, call): Promise<LoadResult | undefined> => {
      const blob = byGroup.get(group);
      if (!blob?.chunks) throw new Error(`checkpoint ${checkpoint.dir} has no chunked blob for group ${group}`);
      const spans = chunkSpans(blob);
      const key = `${group}-${randomUUID()}`;
      try {
        // Fetch up to `concurrency` chunks ahead; stage them in order.
        const pending: Promise<Uint8Array>[] = [];
        const fetch = (i: number) => {
          // The kernel checks each chunk against its name as it is staged (`digest` below): one SHA-256 pass, end to end.
          const promise = remote.get(spans[i]!.digest, spans[i]!.bytes, call.signal, { checkedByReader: true });
          promise.catch(() => {}); // awaited in order below; a failure surfaces there
          pending[i] = promise;
        };
        for (let i = 0; i < Math.min(remote.concurrency, spans.length); i++) fetch(i);
        let offset = 0;
        // Two stage requests in flight: the next chunk crosses the wire while the kernel appends
        // this one. They are sent in order on one channel; the shim refuses any out of order
        // (`offset`), so a reordering would fail the load, never corrupt it.
        const staging: Promise<unknown>[] = [];
        for (let i = 0; i < spans.length; i++) {
          const bytes = await pending[i]!;
          delete pending[i];
          if (i + remote.concurrency < spans.length) fetch(i + remote.concurrency);
          for (let at = 0; at < bytes.byteLength; at += STAGE_BYTES) {
            const piece = bytes.subarray(at, Math.min(bytes.byteLength, at + STAGE_BYTES));
            // `total`: the kernel writes in place into one buffer; `chunkEnd`: it hashes each chunk as it arrives.
            const chunkEnd = at + piece.byteLength === bytes.byteLength;
            const args = { key, offset, total: blob.bytes, chunkEnd, ...(chunkEnd ? { digest: spans[i]!.digest } : {}) };
            const sent = recorder.request('stage_chunk', args, { ...call, buffers: [piece] });
            sent.catch(() => {}); // awaited below
            staging.push(sent);
            offset += piece.byteLength;
            if (staging.length >= 2) await staging.shift();
          }
        }
        for (const sent of staging.splice(0)) await sent;
        if (offset === 0) await recorder.request('stage_chunk', { key, offset: 0, total: 0 }, call);
      } catch (error) {
        await recorder.request('stage_drop', { keys: [key] }, { timeoutMs: 10_000 }).catch(() => {});
        // A damaged or missing chunk fails this blob's load (restore falls back, as for a bad file);
        // a store that cannot be reached fails the restore.
        if ((error as { code?: string }).code === 'CHUNK_MISMATCH' || isChunkRefused(error)) return { ok: false, error: { kind: 'checksum', message: (error as Error).message }, seconds: 0 } as LoadResult;
        throw error;
      }
      const { result } = await recorder.request<{ results: LoadResult[] }>('load', { blobs: [{ ...spec, staged: key }] }, call);
      return result.results[0];
    },
  };
}

/** The shim refused a staged chunk whose SHA-256 is not its name (see staging.py). */
function isChunkRefused(error: unknown): boolean {
  return error instanceof ShimRequestError && error.op === 'stage_chunk' && error.message.includes('does not match its name');
}

/** Runs `work(0..count-1)`, at most `limit` at once; the first failure rejects once the others stopped. */
async function eachLimited(count: number, limit: number, work: (index: number) => Promise<void>): Promise<void> {
  let next = 0;
  let failed: { error: unknown } | undefined;
  const worker = async () => {
    while (!failed && next < count) {
      const index = next++;
      try {
        await work(index);
      } catch (error) {
        failed ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(Math.max(1, limit), count) }, worker));
  if (failed) throw failed.error;
}
