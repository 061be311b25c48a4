/**
 * What migrate and the CLI need of a checkpoint store, whatever holds it: LocalStore (a directory
 * the kernel writes into) or a remote store (an object store, @nbferry/store-s3) whose chunks travel
 * through the coordinator (`remote`). Both keep format 2: content-addressed chunks, manifests,
 * signatures, a LATEST pointer, history by parent ids.
 */
import type { GcOptions, GcResult } from './gc.js';
import type { ManifestInput, StoreOptions, StoredCheckpoint, TrustOptions } from './local-store.js';
import type { CheckpointKey } from './signing.js';

/** A checkpoint being written: visible to readers only once `commit` returns. */
export interface StoreDraft {
  readonly id: string;
  /** Local stores: the staging directory the kernel writes format 1 blob files into. */
  readonly blobsDir?: string;
  commit<Body>(input: ManifestInput<Body>, options?: { signWith?: CheckpointKey }): Promise<StoredCheckpoint<Body>>;
  abort(): Promise<void>;
}

/**
 * Chunks of a store the kernel cannot reach: the coordinator moves them, a bounded number at a time.
 * Every chunk is checked against its name (SHA-256) on the way in and on the way out.
 */
export interface RemoteChunks {
  /** Chunks moved at once; with the chunk size, the coordinator's memory bound for blob bytes. */
  readonly concurrency: number;
  /** Is the chunk stored, with this size? */
  has(digest: string, bytes: number, signal?: AbortSignal): Promise<boolean>;
  /** Stores a chunk given as pieces (refused if their SHA-256 is not `digest`); durable when it resolves; true if uploaded now (false: it was stored already). `knownAbsent`: the caller's `has` just said no (skips a second look). */
  put(digest: string, pieces: readonly Uint8Array[], signal?: AbortSignal, options?: { knownAbsent?: boolean }): Promise<boolean>;
  /**
   * A chunk's bytes, checked against its name and size (CorruptCheckpointError otherwise).
   * `checkedByReader`: the caller checks the SHA-256 itself further on (restore: the kernel, as the
   * chunk arrives), so the bytes are not hashed here a second time; the size is still checked.
   */
  get(digest: string, bytes: number, signal?: AbortSignal, options?: { checkedByReader?: boolean }): Promise<Uint8Array>;
}

export interface CheckpointStore {
  /** A path (local) or URL (`s3://bucket/prefix`): names the store in messages and lineage. */
  readonly root: string;
  readonly options: StoreOptions;
  /** Set for stores the kernel cannot write to: blobs go through the coordinator. */
  readonly remote?: RemoteChunks;
  begin(options?: { signal?: AbortSignal; gcWaitMs?: number }): Promise<StoreDraft>;
  /** Ids of committed checkpoints, oldest first. */
  list(): Promise<string[]>;
  latestId(): Promise<string | undefined>;
  open<Body = unknown>(id?: string, trust?: TrustOptions): Promise<StoredCheckpoint<Body>>;
  /** Retention and garbage collection (gc.ts semantics). */
  collectGarbage(options?: GcOptions): Promise<GcResult>;
  /** Frees connections (remote stores); a no-op for local ones. */
  close?(): void;
}
