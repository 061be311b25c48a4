import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, utimes, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LocalStore } from './local-store.js';
import { currentOwner, LEASE_TEMP_MARK, LEASE_TTL_MS, processStartTicks, type LeaseOwner } from './staging-lease.js';

/** A staging entry as a writer with `owner` would have left it. */
async function stagingOf(root: string, id: string, owner: LeaseOwner | null): Promise<string> {
  const dir = join(root, '.staging', id);
  await mkdir(join(dir, 'blobs'), { recursive: true });
  await writeFile(join(dir, 'blobs', 'half-written.nbf'), Buffer.alloc(1000));
  if (owner) await writeFile(`${dir}.lease`, JSON.stringify(owner));
  return dir;
}

/** A process that ran and exited: its pid names nobody now. */
async function deadPid(): Promise<number> {
  const child = spawn('true');
  await new Promise((resolve) => child.once('exit', resolve));
  return child.pid!;
}

describe('staging cleanup', () => {
  let root: string;
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'nbf-lease-'));
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('prune never deletes a checkpoint another live writer is in the middle of', async () => {
    const store = new LocalStore(root);
    const draft = await store.begin();
    await writeFile(join(draft.blobsDir, 'a.bin'), Buffer.alloc(10, 1));
    await new LocalStore(root).prune(1); // another process's prune, in effect
    expect(existsSync(join(draft.blobsDir, 'a.bin'))).toBe(true);
    const blob = { file: 'a.bin', bytes: 10, checksum: 'sha256:' + '0'.repeat(64), group: 'g', variables: ['a'] };
    const committed = await draft.commit({ environment: { python: '3', platform: 'x', packages: {} }, blobs: [blob], body: {} });
    expect(await store.list()).toEqual([committed.manifest.id]);
    expect(existsSync(`${draft.dir}.lease`)).toBe(false);
  });

  it('cleans a lease a writer was killed in the middle of writing, and keeps a live writer\'s', async () => {
    await mkdir(join(root, '.staging'), { recursive: true });
    const hex = Buffer.from(hostname()).toString('hex');
    const dead = join(root, '.staging', `gone${LEASE_TEMP_MARK}${await deadPid()}-x-${hex}`);
    const live = join(root, '.staging', `here${LEASE_TEMP_MARK}${process.pid}-${processStartTicks(process.pid)}-${hex}`);
    await writeFile(dead, '');
    await writeFile(live, '');
    await new LocalStore(root).cleanStaging();
    expect(existsSync(dead)).toBe(false);
    expect(existsSync(live)).toBe(true);
  });

  it('keeps a live process\'s staging, cleans a dead writer\'s, a reused pid\'s and an expired remote lease', async () => {
    const sleeper = spawn('sleep', ['30']);
    try {
      const live = await stagingOf(root, 'live', { pid: sleeper.pid!, host: hostname(), startTicks: processStartTicks(sleeper.pid!) });
      const dead = await stagingOf(root, 'dead', { pid: await deadPid(), host: hostname(), startTicks: null });
      const reused = await stagingOf(root, 'reused', { ...currentOwner(), startTicks: (processStartTicks(process.pid) ?? 0) + 1 });
      const remoteFresh = await stagingOf(root, 'remote-fresh', { pid: 1, host: 'elsewhere', startTicks: 5 });
      const remoteOld = await stagingOf(root, 'remote-old', { pid: 1, host: 'elsewhere', startTicks: 5 });
      const past = new Date(Date.now() - LEASE_TTL_MS - 60_000);
      await utimes(`${remoteOld}.lease`, past, past);
      const removed = await new LocalStore(root).cleanStaging();
      const expected = processStartTicks(process.pid) === null ? ['dead', 'remote-old'] : ['dead', 'remote-old', 'reused'];
      expect(removed.sort()).toEqual(expected);
      expect(existsSync(live) && existsSync(remoteFresh)).toBe(true);
      expect(existsSync(dead) || existsSync(`${dead}.lease`) || existsSync(remoteOld)).toBe(false);
      expect(existsSync(reused)).toBe(!expected.includes('reused'));
    } finally {
      sleeper.kill();
    }
  });

  it('treats an unleased staging directory as abandoned only once it is old', async () => {
    const young = await stagingOf(root, 'young', null);
    const old = await stagingOf(root, 'old', null);
    const past = new Date(Date.now() - LEASE_TTL_MS - 60_000);
    await utimes(old, past, past);
    expect(await new LocalStore(root).cleanStaging()).toEqual(['old']);
    expect(existsSync(young)).toBe(true);
  });
});
