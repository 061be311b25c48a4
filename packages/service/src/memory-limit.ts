/**
 * A kernel process's memory and its limit, from /proc and the cgroup filesystem (Linux). The limit
 * is the tightest `memory.max` (cgroup v2) or `memory.limit_in_bytes` (v1) on the way from the
 * process's cgroup to the root: what the OOM killer enforces. Elsewhere both are undefined.
 */
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';

export async function residentBytes(pid: number): Promise<number | undefined> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
  const kb = /^VmRSS:\s+(\d+)\s+kB/m.exec(status)?.[1];
  return kb === undefined ? undefined : Number(kb) * 1024;
}

/** Bytes above which the kernel is killed, from its cgroup; undefined when unlimited or unknown. */
export async function cgroupMemoryLimit(pid: number, cgroupRoot = '/sys/fs/cgroup'): Promise<number | undefined> {
  const lines = (await readFile(`/proc/${pid}/cgroup`, 'utf8').catch(() => '')).split('\n');
  const v2 = lines.find((l) => l.startsWith('0::'))?.slice(3);
  const v1 = lines.map((l) => l.split(':')).find((parts) => parts[1]?.split(',').includes('memory'))?.[2];
  const candidates: string[] = [];
  if (v2 !== undefined) for (let dir = join(cgroupRoot, v2); dir.startsWith(cgroupRoot); dir = dirname(dir)) {
    candidates.push(join(dir, 'memory.max'));
    if (dir === cgroupRoot) break;
  }
  if (v1 !== undefined) for (let dir = join(cgroupRoot, 'memory', v1); dir.startsWith(join(cgroupRoot, 'memory')); dir = dirname(dir)) {
    candidates.push(join(dir, 'memory.limit_in_bytes'));
    if (dir === join(cgroupRoot, 'memory')) break;
  }
  let limit: number | undefined;
  for (const file of candidates) {
    const text = (await readFile(file, 'utf8').catch(() => '')).trim();
    const value = /^\d+$/.test(text) ? Number(text) : undefined;
    // v1 writes "no limit" as a huge page-rounded number.
    if (value !== undefined && value < 2 ** 60) limit = Math.min(limit ?? Infinity, value);
  }
  return limit;
}
