/**
 * Who is writing a staging directory. A checkpoint in `.staging/<id>/` has a lease file beside it,
 * `.staging/<id>.lease`, naming its writer (pid, host, and the process's start time, so a reused
 * pid is not mistaken for it) and renewed while the writer works. A staging directory is cleaned
 * only when its writer is provably gone: on this host, no process with that pid and start time;
 * on another host (where its pid means nothing here), a lease not renewed for LEASE_TTL_MS.
 */
import { readFileSync } from 'node:fs';
import { readFile, rename, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';

export const LEASE_SUFFIX = '.lease';
/**
 * A lease being written: `<id>.lease-tmp-<pid>-<startTicks|x>-<host hex>`, renamed to `<id>.lease`
 * once whole, so a cleaner never reads a half-written lease. Its name says who wrote it, so one
 * left by a writer killed mid-write is provably abandoned too.
 */
export const LEASE_TEMP_MARK = '.lease-tmp-';
/** A lease not renewed for this long belongs to a writer that is gone or hung beyond use. */
export const LEASE_TTL_MS = 10 * 60_000;
const RENEW_MS = 30_000;

export interface LeaseOwner {
  pid: number;
  host: string;
  /** Process start time in clock ticks since boot (Linux /proc), or null where unknown. */
  startTicks: number | null;
}

export function currentOwner(): LeaseOwner {
  return { pid: process.pid, host: hostname(), startTicks: processStartTicks(process.pid) };
}

/** Field 22 of /proc/<pid>/stat; null if there is no such process or no /proc. */
export function processStartTicks(pid: number): number | null {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // "pid (comm) state ppid ...": comm may hold spaces and parentheses, so split after the last ')'.
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[19]);
    return Number.isFinite(ticks) ? ticks : null;
  } catch {
    return null;
  }
}

/** A held lease: renewed in the background until released. */
export class StagingLease {
  private readonly timer: NodeJS.Timeout;

  private constructor(readonly path: string) {
    this.timer = setInterval(() => {
      const now = new Date();
      utimes(path, now, now).catch(() => {});
    }, RENEW_MS);
    this.timer.unref();
  }

  /** Writes the lease file (before the staging directory exists, so a cleaner never sees it unowned). */
  static async acquire(path: string, owner: LeaseOwner = currentOwner()): Promise<StagingLease> {
    const temp = `${path.slice(0, -LEASE_SUFFIX.length)}${LEASE_TEMP_MARK}${owner.pid}-${owner.startTicks ?? 'x'}-${Buffer.from(owner.host).toString('hex')}`;
    await writeFile(temp, JSON.stringify(owner), { mode: 0o600 });
    await rename(temp, path);
    return new StagingLease(path);
  }

  async release(): Promise<void> {
    clearInterval(this.timer);
    await rm(this.path, { force: true });
  }
}

/**
 * Is the staging entry whose lease is at `leasePath` abandoned? `entryPath` (the staging directory)
 * dates an entry that has no lease (a writer from before leases, or one that crashed in between).
 */
export async function isAbandoned(leasePath: string, entryPath: string, now = Date.now()): Promise<boolean> {
  let text: string;
  let leaseAge: number;
  try {
    [text, leaseAge] = await Promise.all([readFile(leasePath, 'utf8'), stat(leasePath).then((s) => now - s.mtimeMs)]);
  } catch {
    return olderThan(entryPath, now, LEASE_TTL_MS);
  }
  const owner = parseOwner(text);
  if (!owner) return leaseAge > LEASE_TTL_MS;
  if (owner.host !== hostname()) return leaseAge > LEASE_TTL_MS;
  return !ownerAlive(owner);
}

/** Is the lease being written at `path` (named by `LEASE_TEMP_MARK`) left by a writer that is gone? */
export async function isAbandonedTempLease(path: string, now = Date.now()): Promise<boolean> {
  const match = /\.lease-tmp-(\d+)-(\d+|x)-([0-9a-f]*)$/.exec(path);
  if (!match) return olderThan(path, now, LEASE_TTL_MS);
  const owner: LeaseOwner = { pid: Number(match[1]), startTicks: match[2] === 'x' ? null : Number(match[2]), host: Buffer.from(match[3]!, 'hex').toString() };
  if (owner.host !== hostname()) return olderThan(path, now, LEASE_TTL_MS);
  return !ownerAlive(owner);
}

function ownerAlive(owner: LeaseOwner): boolean {
  try {
    process.kill(owner.pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ESRCH') return false;
  }
  // The pid exists: is it still the same process?
  const ticks = processStartTicks(owner.pid);
  return owner.startTicks === null || ticks === null || ticks === owner.startTicks;
}

function parseOwner(text: string): LeaseOwner | undefined {
  try {
    const value = JSON.parse(text) as Partial<LeaseOwner>;
    if (typeof value.pid !== 'number' || typeof value.host !== 'string') return undefined;
    return { pid: value.pid, host: value.host, startTicks: typeof value.startTicks === 'number' ? value.startTicks : null };
  } catch {
    return undefined;
  }
}

async function olderThan(path: string, now: number, ms: number): Promise<boolean> {
  try {
    return now - (await stat(path)).mtimeMs > ms;
  } catch {
    return true;
  }
}
