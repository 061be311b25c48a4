/**
 * Why a store holds what it holds (issue 12): for a sequence of checkpoints written into one store
 * (a checkpoint after every cell), which groups each one wrote, how many of their chunks were new,
 * and what the new bytes were: data already stored in an earlier checkpoint but cut at other chunk
 * boundaries (fixable by the format), new data that the final state still holds, or intermediate
 * versions a later cell replaced (only gc can drop them). Compared with one full checkpoint of the
 * final state, it also names the groups the two final checkpoints store differently.
 *
 * Reads each written blob back from its chunks and parses its footer (python-shim/PROTOCOL.md §7)
 * to find its pickle stream and out-of-band buffers; buffers are identified by SHA-256 of content.
 */
import { createHash } from 'node:crypto';
import { chunkSpans, readChunkedBlob, type BlobEntry, type Manifest } from '@nbferry/store';

export interface BlobWrite {
  group: string;
  variables: string[];
  bytes: number;
  chunks: number;
  newChunks: number;
  newChunkBytes: number;
  /** In-band pickle stream bytes. */
  pickleBytes: number;
  buffers: number;
  bufferBytes: number;
  /** Out-of-band buffer bytes whose content an earlier checkpoint of this store already held. */
  knownBufferBytes: number;
  /** Bytes of this blob's new chunks lying inside such already-stored buffers: rewritten only because chunk boundaries moved. */
  rewrittenKnownBytes: number;
  /** Bytes of this blob's new chunks outside out-of-band buffers: the pickle stream (in-band data, e.g. object columns), padding, footer. */
  inBandBytes: number;
}

export interface CheckpointBreakdown {
  cell: number;
  id: string;
  newBytes: number;
  totalBytes: number;
  reusedGroups: number;
  written: BlobWrite[];
}

export interface StoreBreakdown {
  checkpoints: CheckpointBreakdown[];
  /** Bytes of distinct chunks in the store (every checkpoint's). */
  storeBytes: number;
  /** Of those, bytes the last checkpoint references (what `gc --keep 1` would leave). */
  lastCheckpointBytes: number;
  /** One full checkpoint of the final state (distinct chunks). */
  fullBytes: number;
  /** New-chunk bytes that repeat buffer content already stored (misaligned boundaries). */
  rewrittenKnownBytes: number;
  /** New-chunk bytes outside out-of-band buffers (pickle streams: in-band data, which may repeat earlier content at other offsets). */
  inBandBytes: number;
  /** New-chunk bytes not referenced by the last checkpoint and not rewritten known content: intermediate versions. */
  intermediateBytes: number;
  /** Groups (by variables) the last incremental checkpoint stores and the full one does not (recomputes), and the reverse, with bytes. */
  onlyInLast: { variables: string[]; bytes: number }[];
  onlyInFull: { variables: string[]; bytes: number }[];
}

interface Parsed {
  pickle: [number, number];
  buffers: [number, number][];
  bufferHashes: string[];
}

async function readBlob(chunksDir: string, blob: BlobEntry): Promise<Buffer> {
  const pieces: Uint8Array[] = [];
  for await (const piece of readChunkedBlob(chunksDir, blob, 8 << 20)) pieces.push(piece);
  return Buffer.concat(pieces);
}

function parseBlob(raw: Buffer): Parsed {
  const footerBytes = Number(raw.readBigUInt64LE(raw.length - 16));
  const footer = JSON.parse(raw.subarray(raw.length - 16 - footerBytes, raw.length - 16).toString('utf8')) as { pickle: [number, number]; buffers: [number, number][] };
  const bufferHashes = footer.buffers.map(([offset, length]) => createHash('sha256').update(raw.subarray(offset, offset + length)).digest('hex'));
  return { pickle: footer.pickle, buffers: footer.buffers, bufferHashes };
}

const groupKey = (b: BlobEntry) => [...b.variables].sort().join(',');

/** `manifests`: the store's checkpoints in the order written, each with the cell it followed (1-based). */
export async function storeBreakdown(chunksDir: string, manifests: { cell: number; manifest: Manifest }[], full: { chunksDir: string; manifest: Manifest }): Promise<StoreBreakdown> {
  const chunkBytes = new Map<string, number>();
  const knownBuffers = new Set<string>();
  const seenBlobs = new Set<string>();
  const newChunkBytes: { digest: string; bytes: number; rewrittenKnown: number }[] = [];
  const checkpoints: CheckpointBreakdown[] = [];
  for (const { cell, manifest } of manifests) {
    const written: BlobWrite[] = [];
    let reusedGroups = 0;
    const addedBuffers: string[] = [];
    for (const blob of manifest.blobs) {
      if (!blob.chunks) continue;
      if (seenBlobs.has(blob.checksum)) {
        reusedGroups += 1;
        continue;
      }
      seenBlobs.add(blob.checksum);
      const parsed = parseBlob(await readBlob(chunksDir, blob));
      const known = parsed.buffers.map((_, i) => knownBuffers.has(parsed.bufferHashes[i]!));
      const write: BlobWrite = {
        group: blob.group,
        variables: blob.variables,
        bytes: blob.bytes,
        chunks: blob.chunks.length,
        newChunks: 0,
        newChunkBytes: 0,
        pickleBytes: parsed.pickle[1],
        buffers: parsed.buffers.length,
        bufferBytes: parsed.buffers.reduce((a, [, n]) => a + n, 0),
        knownBufferBytes: parsed.buffers.reduce((a, [, n], i) => a + (known[i] ? n : 0), 0),
        rewrittenKnownBytes: 0,
        inBandBytes: 0,
      };
      let offset = 0;
      for (const { digest, bytes } of chunkSpans(blob)) {
        if (!chunkBytes.has(digest)) {
          chunkBytes.set(digest, bytes);
          let rewritten = 0;
          let inBuffers = 0;
          for (const [i, [start, length]] of parsed.buffers.entries()) {
            const overlap = Math.max(0, Math.min(offset + bytes, start + length) - Math.max(offset, start));
            inBuffers += overlap;
            if (known[i]) rewritten += overlap;
          }
          write.inBandBytes += bytes - inBuffers;
          write.newChunks += 1;
          write.newChunkBytes += bytes;
          write.rewrittenKnownBytes += rewritten;
          newChunkBytes.push({ digest, bytes, rewrittenKnown: rewritten });
        }
        offset += bytes;
      }
      addedBuffers.push(...parsed.bufferHashes);
      written.push(write);
    }
    for (const h of addedBuffers) knownBuffers.add(h);
    checkpoints.push({ cell, id: manifest.id, newBytes: manifest.stats?.newBytes ?? 0, totalBytes: manifest.stats?.totalBytes ?? 0, reusedGroups, written });
  }
  const last = manifests.at(-1)?.manifest;
  const lastChunks = new Set((last?.blobs ?? []).flatMap((b) => b.chunks ?? []));
  const distinctBytes = (blobs: BlobEntry[]) => {
    const sizes = new Map<string, number>();
    for (const b of blobs) for (const { digest, bytes } of chunkSpans(b)) sizes.set(digest, bytes);
    return [...sizes.values()].reduce((a, b) => a + b, 0);
  };
  const lastGroups = new Map((last?.blobs ?? []).map((b) => [groupKey(b), b]));
  const fullGroups = new Map(full.manifest.blobs.map((b) => [groupKey(b), b]));
  return {
    checkpoints,
    storeBytes: [...chunkBytes.values()].reduce((a, b) => a + b, 0),
    lastCheckpointBytes: distinctBytes(last?.blobs ?? []),
    fullBytes: distinctBytes(full.manifest.blobs),
    rewrittenKnownBytes: newChunkBytes.reduce((a, c) => a + c.rewrittenKnown, 0),
    inBandBytes: checkpoints.reduce((a, c) => a + c.written.reduce((b, w) => b + w.inBandBytes, 0), 0),
    intermediateBytes: newChunkBytes.filter((c) => !lastChunks.has(c.digest)).reduce((a, c) => a + c.bytes - c.rewrittenKnown, 0),
    onlyInLast: [...lastGroups].filter(([k]) => !fullGroups.has(k)).map(([, b]) => ({ variables: b.variables, bytes: b.bytes })),
    onlyInFull: [...fullGroups].filter(([k]) => !lastGroups.has(k)).map(([, b]) => ({ variables: b.variables, bytes: b.bytes })),
  };
}
