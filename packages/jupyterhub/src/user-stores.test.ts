import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { UserStores, type SuspendRecord } from './user-stores.js';

const record = (user: string, serverName: string): SuspendRecord => ({
  user,
  serverName,
  suspendedAt: '2026-12-03T16:00:00.000Z',
  userOptions: {},
  sessions: [{ path: 'a/b.ipynb', kernelId: 'k1', kernelName: 'nbferry', storeDir: 'x', checkpointDir: 'x/checkpoints/1', checkpointId: '1', totalBytes: 3 }],
});

describe('UserStores', () => {
  const dirs: string[] = [];
  afterEach(async () => {
    for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
  });

  it('names stores inside the root whatever the user or path (a directory, file:// or s3://)', () => {
    const local = new UserStores('/srv/stores');
    expect(local.remote).toBe(false);
    expect(local.storeDir('../evil', { path: '../../x.ipynb', kernelId: 'k' })).toBe('/srv/stores/user-..%2Fevil/notebook-..%2F..%2Fx.ipynb');
    expect(local.storeDir('bob', { path: null, kernelId: 'k/1' })).toBe('/srv/stores/user-bob/kernel-k%2F1');
    expect(new UserStores(pathToFileURL('/srv/my stores').href).storeDir('bob', { path: 'n.ipynb', kernelId: 'k' })).toBe('/srv/my stores/user-bob/notebook-n.ipynb');
    const remote = new UserStores('s3://bucket/hub/');
    expect(remote.remote).toBe(true);
    expect(remote.storeDir('a/b', { path: 'work/x.ipynb', kernelId: 'k' })).toBe('s3://bucket/hub/user-a%2Fb/notebook-work%2Fx.ipynb');
    expect(remote.userDir('alice')).toBe('s3://bucket/hub/user-alice');
  });

  it('keeps one record per user and server in files under a local root, replaced whole and removed', async () => {
    const root = await mkdtemp(join(tmpdir(), 'nbf-user-stores-'));
    dirs.push(root);
    const stores = new UserStores(root);
    expect(await stores.readRecord('alice', '')).toBeUndefined();
    await stores.writeRecord(record('alice', ''));
    await stores.writeRecord(record('alice', 'big/one'));
    expect(await readdir(join(root, 'user-alice'))).toEqual(['suspended-default.json', 'suspended-named-big%2Fone.json']);
    expect(await stores.readRecord('alice', 'big/one')).toEqual(record('alice', 'big/one'));
    await stores.writeRecord({ ...record('alice', ''), restoreAttempts: 2 });
    expect((await stores.readRecord('alice', ''))?.restoreAttempts).toBe(2);
    await stores.removeRecord('alice', '');
    expect(await stores.readRecord('alice', '')).toBeUndefined();
    expect(existsSync(join(root, 'user-alice', 'suspended-named-big%2Fone.json'))).toBe(true);
    await stores.check(); // a directory needs no check
  });

  it('refuses a store URL it has no backend for, at check', async () => {
    await expect(new UserStores('gs://bucket/x').check()).rejects.toMatchObject({ code: 'STORE_URL_UNSUPPORTED' });
  });
});
