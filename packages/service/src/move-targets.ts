/**
 * Where "move to…" can send a kernel's state, as the operator configured it (`nbferry serve
 * --target id=big,url=https://...,token-file=/etc/nbferry/big.token`): another Jupyter Server, on
 * which the service starts a kernel and migrates the state into it live (blobs staged over the
 * websocket, so the two machines share no directory). The service always offers a fresh kernel on
 * its own machine too (the body `{}`). The token is read from its file at each move (rotated tokens
 * need no restart) and never shown by GET /targets.
 */
import { readFile } from 'node:fs/promises';
import type { ServerInfo } from '@nbferry/jupyter-server';
import { ServiceError } from './errors.js';

export interface JupyterServerTarget {
  id: string;
  kind: 'jupyter-server';
  label: string;
  description?: string;
  /** The target server's base URL (with its base_url path). */
  url: string;
  /** A file holding a token of that server (read at each move). */
  tokenFile: string;
  /** The kernelspec to start there (default: the server's default kernelspec). */
  kernelName?: string;
}

export type MoveTarget = JupyterServerTarget;

/** What GET /targets lists (the front end POSTs `body` to /kernels/{id}/migrate). */
export interface TargetView {
  id: string;
  label: string;
  description: string;
  body: Record<string, unknown>;
}

/** The target every service offers: a new kernel next to it (what POST migrate does without `target`). */
export const LOCAL_TARGET_ID = 'fresh-kernel';

const ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const KEYS = new Set(['id', 'url', 'token-file', 'label', 'description', 'kernel']);

export class TargetSpecError extends ServiceError {
  override name = 'TargetSpecError';
  constructor(spec: string, detail: string) {
    super(
      `--target ${JSON.stringify(spec)}: ${detail}. Write id=NAME,url=URL,token-file=FILE[,label=TEXT][,description=TEXT][,kernel=KERNELSPEC]`,
      'BAD_TARGET_SPEC',
      400,
    );
  }
}

export class UnknownTargetError extends ServiceError {
  override name = 'UnknownTargetError';
  constructor(id: string) {
    super(`no move target "${id}" is configured on this service: GET /targets lists them`, 'UNKNOWN_TARGET', 404);
  }
}

/** The target's token file cannot be read: the operator's configuration, not the user's request. */
export class TargetUnavailableError extends ServiceError {
  override name = 'TargetUnavailableError';
  constructor(id: string, detail: string, options?: { cause?: unknown }) {
    super(`move target "${id}" cannot be used: ${detail}. The kernel was not moved and keeps running here`, 'TARGET_UNAVAILABLE', 503, options);
  }
}

/** One `--target` value: comma-separated key=value pairs (values may not contain commas). */
export function parseTargetSpec(spec: string): MoveTarget {
  const fields = new Map<string, string>();
  for (const part of spec.split(',')) {
    const eq = part.indexOf('=');
    if (eq <= 0) throw new TargetSpecError(spec, `"${part}" is not key=value`);
    const key = part.slice(0, eq).trim();
    if (!KEYS.has(key)) throw new TargetSpecError(spec, `unknown key "${key}"`);
    if (fields.has(key)) throw new TargetSpecError(spec, `"${key}" given twice`);
    fields.set(key, part.slice(eq + 1).trim());
  }
  const id = fields.get('id');
  const url = fields.get('url');
  const tokenFile = fields.get('token-file');
  if (!id || !ID.test(id)) throw new TargetSpecError(spec, 'id must be 1-64 letters, digits, ".", "_" or "-"');
  if (id === LOCAL_TARGET_ID) throw new TargetSpecError(spec, `id "${LOCAL_TARGET_ID}" is the service's own fresh kernel`);
  if (!url || !/^https?:\/\/[^/]/.test(url)) throw new TargetSpecError(spec, 'url must be the http(s) URL of a Jupyter Server');
  if (!tokenFile) throw new TargetSpecError(spec, 'token-file is required (a file holding a token of that server)');
  return {
    id,
    kind: 'jupyter-server',
    label: fields.get('label') || id,
    ...(fields.get('description') ? { description: fields.get('description') } : {}),
    url,
    tokenFile,
    ...(fields.get('kernel') ? { kernelName: fields.get('kernel') } : {}),
  };
}

/** Checks a list of targets: distinct ids. */
export function checkedTargets(targets: MoveTarget[]): MoveTarget[] {
  const seen = new Set<string>();
  for (const t of targets) {
    if (seen.has(t.id)) throw new TargetSpecError(t.id, `two targets have the id "${t.id}"`);
    seen.add(t.id);
  }
  return targets;
}

/** GET /targets: the service's own fresh kernel first, then the operator's targets (no tokens). */
export function targetViews(targets: MoveTarget[]): TargetView[] {
  return [
    {
      id: LOCAL_TARGET_ID,
      label: 'A fresh kernel on this server',
      description: 'nbferry starts a new kernel next to the service, moves the state and verifies it.',
      body: {},
    },
    ...targets.map((t) => ({
      id: t.id,
      label: t.label,
      description: t.description ?? `A new kernel on the Jupyter Server at ${new URL(t.url).origin}; the state is moved live and verified.`,
      body: { target: t.id },
    })),
  ];
}

/** The target server's address and token (read now). */
export async function serverOf(target: JupyterServerTarget): Promise<ServerInfo> {
  let token: string;
  try {
    token = (await readFile(target.tokenFile, 'utf8')).trim();
  } catch (error) {
    throw new TargetUnavailableError(target.id, `its token file ${target.tokenFile} cannot be read (${(error as Error).message})`, { cause: error });
  }
  if (token === '') throw new TargetUnavailableError(target.id, `its token file ${target.tokenFile} is empty`);
  return { baseUrl: target.url, token };
}
