// Issues 14 and 15: `nbferry hub-service --stores s3://bucket/prefix` against a real JupyterHub and
// a real SeaweedFS. The suspend streams each notebook's checkpoint kernel -> service -> bucket and
// writes the list of suspended notebooks into the bucket too; the service process is then killed
// (the Hub starts a new one, which never saw the suspend and has nothing on disk) and the new one
// restores the notebook when alice comes back, from the bucket alone. Metrics are scraped on the way.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { MoveReport, ServerStatus } from '@nbferry/jupyterhub';
import { ServerApi } from '@nbferry/jupyter-server';
import type { CheckpointBody } from '@nbferry/migrate';
import { S3Store } from '@nbferry/store-s3';
import { Frontend } from './support/jupyter-server.js';
import { startHub, type Hub } from './support/jupyterhub.js';
import { parseExposition, sampleValue } from './support/prometheus.js';
import { startSeaweed, type Seaweed } from './support/seaweed.js';

const NOTEBOOK = 'work/analysis.ipynb';
const BUCKET = 'nbferry-hub';
const PREFIX = `hub-${randomBytes(4).toString('hex')}`;
const ROOT = `s3://${BUCKET}/${PREFIX}`;

let hub: Hub;
let weed: Seaweed;
const frontends: Frontend[] = [];

beforeAll(async () => {
  weed = await startSeaweed();
  await weed.createBucket(BUCKET);
  hub = await startHub({ idleTimeoutSeconds: 6, warnSeconds: 2, pollSeconds: 1, stores: ROOT, serviceEnv: weed.env });
}, 180_000);
afterAll(async () => {
  for (const frontend of frontends.splice(0)) frontend.close();
  await hub?.stop();
  await weed?.stop();
}, 60_000);

async function until<T>(what: string, probe: () => Promise<T | undefined | false>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms\n${hub.output().slice(-8000)}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

async function status(user: string): Promise<ServerStatus | undefined> {
  const response = await fetch(`${hub.serviceUrl}status?user=${user}`, { headers: { Authorization: `token ${hub.adminToken}` } });
  if (response.status !== 200) return undefined;
  const { servers } = (await response.json()) as { servers: ServerStatus[] };
  return servers.find((s) => s.server === '');
}

async function metrics() {
  const response = await fetch(`${hub.serviceUrl}metrics`, { headers: { Authorization: `token ${hub.adminToken}` } });
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toMatch(/^text\/plain/);
  return parseExposition(await response.text());
}

/** Keys under the service's prefix in the bucket. */
async function keys(): Promise<string[]> {
  const listed = await weed.client().send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: `${PREFIX}/` }));
  return (listed.Contents ?? []).map((o) => o.Key!.slice(PREFIX.length + 1));
}

/** The hub-service process (its command line names this test's unique prefix). */
async function servicePid(): Promise<number | undefined> {
  const { stdout } = await promisify(execFile)('ps', ['-eo', 'pid=,args=']);
  const line = stdout.split('\n').find((l) => l.includes('hub-service') && l.includes(ROOT));
  return line ? Number(line.trim().split(/\s+/)[0]) : undefined;
}

it('suspends into s3:// (checkpoint and the list of suspended notebooks in the bucket, nothing on disk); a new service process restores from the bucket alone; a move goes through the bucket', async () => {
  await hub.startServer('alice');
  const api = new ServerApi({ baseUrl: hub.serverUrl('alice'), token: hub.adminToken });
  await api.putContents({ path: 'work', type: 'directory', format: null, content: null });
  await api.putContents({ path: NOTEBOOK, type: 'notebook', format: 'json', content: { cells: [], metadata: {}, nbformat: 4, nbformat_minor: 5 } });
  await api.createSession({ path: NOTEBOOK, kernel: { name: 'nbferry' } });
  const alice = await Frontend.openSession({ baseUrl: hub.serverUrl('alice'), token: hub.adminToken }, NOTEBOOK);
  frontends.push(alice);
  // Unseeded randomness: no rerun can bring `noise` back, only its bytes in the bucket.
  await alice.run('import os\nimport numpy as np\nnoise = np.random.default_rng().random(2_000_000)\ntotal = float(noise.sum())\nsecret = 41 + 1\ncwd = os.getcwd()');
  alice.close();

  const suspended = await until('alice suspended', async () => {
    const s = await status('alice');
    return s?.phase === 'suspended' ? s : undefined;
  }, 90_000);
  const [saved] = suspended.lastSuspend!.sessions;
  expect(saved).toMatchObject({ path: NOTEBOOK });
  console.log(`suspend into ${ROOT}: ${saved!.totalBytes} bytes checkpointed, verified from the bucket, server stopped in ${suspended.lastSuspend!.totalMs} ms`);

  // In the bucket: the notebook's checkpoint (noise's 16 MB as chunks) and the record of the suspend.
  const storeUrl = `${ROOT}/user-alice/notebook-${encodeURIComponent(NOTEBOOK)}`;
  const store = await S3Store.fromUrl(storeUrl, { client: weed.client() });
  expect(await store.list()).toEqual([saved!.checkpointId]);
  const manifest = (await store.open<CheckpointBody>(saved!.checkpointId)).manifest;
  expect(manifest.blobs.find((b) => b.variables.includes('noise'))!.bytes).toBeGreaterThanOrEqual(16e6);
  const stored = await keys();
  expect(stored).toContain('user-alice/suspended-default.json');
  expect(stored.some((k) => k.startsWith(`user-alice/notebook-${encodeURIComponent(NOTEBOOK)}/chunks/`))).toBe(true);
  const record = JSON.parse(await (await weed.client().send(new GetObjectCommand({ Bucket: BUCKET, Key: `${PREFIX}/user-alice/suspended-default.json` }))).Body!.transformToString());
  expect(record.sessions).toEqual([expect.objectContaining({ path: NOTEBOOK, checkpointId: saved!.checkpointId, storeDir: storeUrl })]);
  // Nothing of it on the service's disk: no local store root was made.
  expect(existsSync(hub.storeRoot)).toBe(false);

  const before = await metrics();
  expect(sampleValue(before, 'nbferry_hub_suspends_total', { outcome: 'suspended' })).toBe(1);
  expect(sampleValue(before, 'nbferry_hub_suspend_duration_seconds_count', {})).toBe(1);
  expect(sampleValue(before, 'nbferry_hub_checkpoint_bytes_total', {})).toBeGreaterThanOrEqual(16e6);
  expect(sampleValue(before, 'nbferry_hub_servers', { phase: 'suspended' })).toBe(1);

  // The service "moves to another node": its process dies, the Hub starts a new one (a fresh
  // process: the list of suspended servers can only come from the bucket).
  const pid = await servicePid();
  expect(pid).toBeDefined();
  process.kill(pid!, 'SIGKILL');
  // (Until the Hub reaps it, the killed process is a zombie: its command line is gone from ps.)
  await until('a new service process', async () => {
    const next = await servicePid();
    return next !== undefined && next !== pid && (await fetch(`${hub.serviceUrl}health`)).ok;
  }, 90_000);
  const fresh = await metrics();
  expect(sampleValue(fresh, 'nbferry_hub_suspends_total', { outcome: 'suspended' }) ?? 0).toBe(0);

  await hub.startServer('alice');
  const restored = await until('alice restored by the new service', async () => (await status('alice'))?.lastRestore, 120_000);
  console.log(`restore on return from ${ROOT} in ${restored.sessions[0]?.totalMs} ms: ${restored.report}`);
  expect(restored.ok).toBe(true);
  expect(restored.sessions[0]).toMatchObject({ path: NOTEBOOK, ok: true, checkpointId: saved!.checkpointId, lost: [] });
  const back = await Frontend.openSession({ baseUrl: hub.serverUrl('alice'), token: hub.adminToken }, NOTEBOOK);
  frontends.push(back);
  expect(await back.run('print(float(noise.sum()) == total, secret, os.getcwd() == cwd)')).toBe('True 42 True\n');
  // Restored: the record is gone from the bucket, the checkpoint stays.
  expect(await keys()).not.toContain('user-alice/suspended-default.json');
  expect(await store.list()).toEqual([saved!.checkpointId]);

  const after = await metrics();
  expect(sampleValue(after, 'nbferry_hub_restores_total', { outcome: 'ok' })).toBe(1);
  expect(sampleValue(after, 'nbferry_hub_restore_duration_seconds_count', {})).toBe(1);
  expect(sampleValue(after, 'nbferry_hub_lost_variables_total', {}) ?? 0).toBe(0);

  // A move to the "big" named server goes through the notebook's store in the bucket: the
  // checkpoint before the move, then the move's own, both in its history.
  back.close();
  const response = await fetch(`${hub.serviceUrl}move`, {
    method: 'POST',
    headers: { Authorization: `token ${hub.adminToken}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ user: 'alice', from: '', to: 'big', userOptions: { profile: 'big' } }),
  });
  const report = (await response.json()) as MoveReport;
  expect(response.status, JSON.stringify(report)).toBe(200);
  expect(report.sessions[0]).toMatchObject({ path: NOTEBOOK, ok: true, lost: [] });
  const history = await store.list();
  expect(history).toHaveLength(3);
  expect(history).toContain(report.checkpoints[0]!.checkpointId);
  const moved = await Frontend.openSession({ baseUrl: hub.serverUrl('alice', 'big'), token: hub.adminToken }, NOTEBOOK);
  frontends.push(moved);
  expect(await moved.run('print(float(noise.sum()) == total, secret, os.environ.get("NBFERRY_PROFILE"))')).toBe('True 42 big\n');
  expect(sampleValue(await metrics(), 'nbferry_hub_moves_total', { trigger: 'api', outcome: 'moved' })).toBe(1);
  store.close();
}, 400_000);
