/**
 * Writers and gc on an object store, the protocol of the local store's gc-lease.ts with objects:
 *
 * - a writer puts `.staging/<id>.lease` (renewed every 30 s while it works), then HEADs `.gc.lease`:
 *   if a live gc holds it, the writer deletes its lease, waits and starts over;
 * - gc creates `.gc.lease` with `If-None-Match: *` (one gc at a time), then lists `.staging/` and
 *   waits until no live writer lease is left before it deletes or sweeps anything.
 *
 * Each side writes its object before it reads the other's; with S3's strong read-after-write and
 * list consistency (AWS since 2020, SeaweedFS's filer) at least one sees the other. A lease is live
 * while it was written less than LEASE_TTL_MS (10 min) ago by the store's clock (its LastModified),
 * compared with this machine's clock: clocks must agree to well within that. A process cannot be
 * checked for life on another machine, so a crashed writer blocks gc until its lease expires.
 */
import { HeadObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { GcBusyError, LEASE_TTL_MS, StoreBusyError, currentOwner } from '@nbferry/store';
import { setTimeout as sleep } from 'node:timers/promises';
import { isNotFound, isPreconditionFailed, storeFailure } from './errors.js';
import type { S3Store } from './s3-store.js';

export const GC_LEASE_KEY = '.gc.lease';
const RENEW_MS = 30_000;
/** How long `begin` waits for a running gc before StoreBusyError (as the local store). */
const GC_WAIT_MS = 120_000;

export class WriterLease {
  private readonly timer: NodeJS.Timeout;

  private constructor(
    private readonly store: S3Store,
    readonly key: string,
  ) {
    this.timer = setInterval(() => void store.put(key, leaseBody()).catch(() => {}), RENEW_MS);
    this.timer.unref();
  }

  static async acquire(store: S3Store, id: string): Promise<WriterLease> {
    const key = store.key(`.staging/${id}.lease`);
    await store.put(key, leaseBody());
    return new WriterLease(store, key);
  }

  async release(): Promise<void> {
    clearInterval(this.timer);
    await this.store.delete(this.key);
  }
}

function leaseBody(): string {
  return JSON.stringify({ ...currentOwner(), at: new Date().toISOString() });
}

/** Takes the writer lease for `id` once no gc runs (see above). */
export async function waitWhileGcRuns(store: S3Store, id: string, options: { signal?: AbortSignal; gcWaitMs?: number }): Promise<WriterLease> {
  const started = Date.now();
  for (;;) {
    const lease = await WriterLease.acquire(store, id);
    if (!(await gcRunning(store))) return lease;
    await lease.release().catch(() => {});
    if (Date.now() - started > (options.gcWaitMs ?? GC_WAIT_MS)) throw new StoreBusyError(store.root, Date.now() - started);
    await sleep(200, undefined, { signal: options.signal });
  }
}

/** Is a live gc holding the store? */
export async function gcRunning(store: S3Store): Promise<boolean> {
  const modified = await leaseModified(store, store.key(GC_LEASE_KEY));
  return modified !== undefined && Date.now() - modified < LEASE_TTL_MS;
}

async function leaseModified(store: S3Store, key: string): Promise<number | undefined> {
  try {
    const head = await store.client.send(new HeadObjectCommand({ Bucket: store.bucket, Key: key }));
    return head.LastModified?.getTime() ?? Date.now();
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw storeFailure(error, store.root, store.bucket);
  }
}

/** Creates `.gc.lease` (GcBusyError if a live gc holds it; a stale one is taken over); returns its release. */
export async function acquireGcLease(store: S3Store): Promise<() => Promise<void>> {
  const key = store.key(GC_LEASE_KEY);
  for (let attempt = 0; ; attempt++) {
    try {
      await store.client.send(new PutObjectCommand({ Bucket: store.bucket, Key: key, Body: leaseBody(), IfNoneMatch: '*' }));
      break;
    } catch (error) {
      if (!isPreconditionFailed(error)) throw storeFailure(error, store.root, store.bucket);
      if (attempt > 0 || (await gcRunning(store))) throw new GcBusyError(store.root);
      await store.delete(key); // its gc died long ago: take over
    }
  }
  const timer = setInterval(() => void store.put(key, leaseBody()).catch(() => {}), RENEW_MS);
  timer.unref();
  return async () => {
    clearInterval(timer);
    await store.delete(key);
  };
}

/** Ids of writers whose lease is live. */
export async function liveWriters(store: S3Store): Promise<string[]> {
  const base = store.key('.staging/');
  const live: string[] = [];
  for await (const object of store.listObjects(base)) {
    const name = object.key.slice(base.length);
    if (name.endsWith('.lease') && Date.now() - object.modified < LEASE_TTL_MS) live.push(name.slice(0, -'.lease'.length));
  }
  return live;
}
