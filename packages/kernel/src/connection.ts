/**
 * Connection files: how to reach a kernel's five sockets and sign its messages.
 * Written with mode 0600 inside a 0700 directory, since the key grants code execution.
 */
import { randomBytes } from 'node:crypto';
import { chmod, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { curveKeyPair } from 'zeromq';
import { isSignatureScheme, SIGNATURE_SCHEMES, type SignatureScheme } from '@nbferry/protocol';
import { ConnectionFileError } from './errors.js';

export type SocketName = 'shell' | 'iopub' | 'stdin' | 'control' | 'hb';
const SOCKETS: readonly SocketName[] = ['shell', 'iopub', 'stdin', 'control', 'hb'];

export interface ConnectionInfo {
  transport: 'tcp' | 'ipc';
  /** An IP address for tcp, a path prefix for ipc (endpoints are `<ip>-<port>`). */
  ip: string;
  shell_port: number;
  iopub_port: number;
  stdin_port: number;
  control_port: number;
  hb_port: number;
  key: string;
  signature_scheme: SignatureScheme;
  kernel_name?: string;
  /** CurveZMQ: ipykernel uses one keypair for both ends (Z85 strings). */
  curve_publickey?: string;
  curve_secretkey?: string;
}

export function endpoint(info: ConnectionInfo, socket: SocketName): string {
  const port = info[`${socket}_port`];
  return info.transport === 'ipc' ? `ipc://${info.ip}-${port}` : `tcp://${info.ip}:${port}`;
}

export interface NewConnectionOptions {
  transport?: 'tcp' | 'ipc';
  /** Encrypt tcp traffic with CurveZMQ (ignored for ipc, which never leaves the machine). */
  curve?: boolean;
  ip?: string;
}

/** Creates connection info in a fresh private directory and writes the file; returns both paths. */
export async function createConnectionFile(
  options: NewConnectionOptions = {},
): Promise<{ info: ConnectionInfo; path: string; dir: string }> {
  const transport = options.transport ?? (process.platform === 'win32' ? 'tcp' : 'ipc');
  // A short directory name: ipc endpoints must fit in sun_path (about 107 bytes).
  const dir = await mkdtemp(join(tmpdir(), 'nbf-'));
  await chmod(dir, 0o700);
  const ports = transport === 'ipc' ? [1, 2, 3, 4, 5] : await freeTcpPorts(5, options.ip ?? '127.0.0.1');
  const info: ConnectionInfo = {
    transport,
    ip: transport === 'ipc' ? join(dir, 'k') : (options.ip ?? '127.0.0.1'),
    shell_port: ports[0]!,
    iopub_port: ports[1]!,
    stdin_port: ports[2]!,
    control_port: ports[3]!,
    hb_port: ports[4]!,
    key: randomBytes(32).toString('hex'),
    signature_scheme: 'hmac-sha256',
  };
  if (options.curve && transport === 'tcp') {
    const { publicKey, secretKey } = curveKeyPair();
    info.curve_publickey = publicKey;
    info.curve_secretkey = secretKey;
  }
  const path = join(dir, 'kernel.json');
  await writeConnectionFile(path, info);
  return { info, path, dir };
}

export async function writeConnectionFile(path: string, info: ConnectionInfo): Promise<void> {
  await writeFile(path, JSON.stringify(info, null, 2), { mode: 0o600 });
  await chmod(path, 0o600);
}

export async function readConnectionFile(path: string): Promise<ConnectionInfo> {
  let raw: string;
  try {
    raw = await readFile(path, 'utf8');
  } catch (error) {
    throw new ConnectionFileError(`cannot read connection file ${path}: ${(error as Error).message}`, { cause: error });
  }
  let parsed: Record<string, unknown>;
  try {
    parsed = JSON.parse(raw) as Record<string, unknown>;
  } catch (error) {
    // V8's message quotes the text around the error, which may be the key: keep only where it is.
    const at = /position \d+/.exec((error as Error).message)?.[0];
    throw new ConnectionFileError(`connection file ${path} is not valid JSON${at ? ` (at ${at})` : ''}; check that it is a kernel's connection file`);
  }
  const missing = SOCKETS.map((s) => `${s}_port`).filter((field) => typeof parsed[field] !== 'number');
  if (typeof parsed.ip !== 'string') missing.push('ip');
  if (typeof parsed.key !== 'string') missing.push('key');
  if (missing.length > 0) {
    throw new ConnectionFileError(`connection file ${path} lacks ${missing.join(', ')}`);
  }
  const scheme = parsed.signature_scheme ?? 'hmac-sha256';
  if (!isSignatureScheme(scheme)) {
    throw new ConnectionFileError(
      `connection file ${path} has signature_scheme ${JSON.stringify(scheme)}; nbferry supports ${SIGNATURE_SCHEMES.join(', ')}. ` +
        'Use the connection file the kernel wrote',
    );
  }
  if (parsed.transport !== undefined && parsed.transport !== 'tcp' && parsed.transport !== 'ipc') {
    throw new ConnectionFileError(`connection file ${path} has transport ${JSON.stringify(parsed.transport)}; expected "tcp" or "ipc"`);
  }
  const ports = SOCKETS.map((s) => parsed[`${s}_port`] as number);
  const badPort = SOCKETS.find((_, i) => !Number.isInteger(ports[i]) || ports[i]! < 1 || ports[i]! > 65535);
  if (badPort) throw new ConnectionFileError(`connection file ${path} has an invalid ${badPort}_port: ${parsed[`${badPort}_port`] as number}`);
  if (new Set(ports).size !== ports.length) {
    throw new ConnectionFileError(`connection file ${path} gives two sockets the same port (${ports.join(', ')}); use the connection file the kernel wrote`);
  }
  return {
    ...(parsed as unknown as ConnectionInfo),
    transport: parsed.transport === 'ipc' ? 'ipc' : 'tcp',
    signature_scheme: scheme,
  };
}

/** Ports handed out by this process, so two kernels started at once never get the same one. */
const handedOut = new Set<number>();

async function freeTcpPorts(count: number, host: string): Promise<number[]> {
  const ports: number[] = [];
  while (ports.length < count) {
    const port = await new Promise<number>((resolve, reject) => {
      const server = createServer();
      server.once('error', reject);
      server.listen(0, host, () => {
        const address = server.address();
        server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
      });
    });
    if (port > 0 && !handedOut.has(port)) {
      handedOut.add(port);
      ports.push(port);
    }
  }
  return ports;
}
