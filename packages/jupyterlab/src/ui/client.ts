/**
 * Talks to the nbferry server extension through Jupyter Server (ServerConnection.makeRequest, so
 * Jupyter's auth and XSRF apply and the browser never holds nbferry's own token).
 */
import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';
import type {
  Announcement,
  AttachResponse,
  BranchResponse,
  HistoryEntry,
  KernelState,
  MoveTarget,
  Plan,
} from '../model/api-types.js';
import { NbferryUiError, errorFromBody } from '../model/errors.js';
import type { JobProgress } from '../model/jobs.js';
import { runOperation, type FollowOptions } from '../model/operation.js';
import {
  parseAnnouncements,
  parseAttach,
  parseBranch,
  parseHistory,
  parseKernelState,
  parsePlan,
  parseTargets,
} from '../model/parse.js';

const JOB_POLL_MS = 250;

/** What "move to…" offers when the service does not list targets: a fresh kernel where the service runs. */
export const DEFAULT_TARGET: MoveTarget = {
  id: 'fresh-kernel',
  label: 'A fresh kernel on this server',
  description: 'nbferry starts a new kernel next to the service, moves the state and verifies it.',
  body: {},
};

export class NbferryClient {
  constructor(private readonly settings: ServerConnection.ISettings = ServerConnection.makeSettings()) {}

  /** One request under `<base>/nbferry/`; answers the parsed JSON body and the status. */
  async request(
    method: 'GET' | 'POST' | 'PUT' | 'DELETE',
    path: string,
    body?: unknown,
    signal?: AbortSignal,
  ): Promise<{ status: number; body: unknown }> {
    const url = URLExt.join(this.settings.baseUrl, 'nbferry', path);
    const init: RequestInit = { method };
    if (signal) init.signal = signal;
    if (body !== undefined) {
      init.body = JSON.stringify(body);
      init.headers = { 'Content-Type': 'application/json' };
    }
    let response: Response;
    try {
      response = await ServerConnection.makeRequest(url, init, this.settings);
    } catch (error) {
      if (signal?.aborted) throw error;
      throw new NbferryUiError(`cannot reach Jupyter Server: ${String(error)}`, 'NETWORK_ERROR', { cause: error });
    }
    const text = await response.text();
    let parsed: unknown = null;
    if (text !== '') {
      try {
        parsed = JSON.parse(text) as unknown;
      } catch {
        parsed = { message: text.slice(0, 300) };
      }
    }
    if (!response.ok) throw errorFromBody(response.status, parsed);
    return { status: response.status, body: parsed };
  }

  async attach(jupyterKernelId: string, signal?: AbortSignal): Promise<AttachResponse> {
    return parseAttach((await this.request('POST', `kernels/${enc(jupyterKernelId)}/attach`, {}, signal)).body);
  }

  async kernel(id: string, signal?: AbortSignal): Promise<KernelState> {
    return parseKernelState((await this.request('GET', `api/kernels/${enc(id)}`, undefined, signal)).body);
  }

  async history(id: string, signal?: AbortSignal): Promise<HistoryEntry[]> {
    return parseHistory((await this.request('GET', `api/kernels/${enc(id)}/history`, undefined, signal)).body);
  }

  async plan(id: string, signal?: AbortSignal): Promise<Plan> {
    return parsePlan((await this.request('GET', `api/kernels/${enc(id)}/plan`, undefined, signal)).body);
  }

  async announcements(signal?: AbortSignal): Promise<Announcement[]> {
    return parseAnnouncements((await this.request('GET', 'announcements', undefined, signal)).body);
  }

  /** The targets the service offers for "move to…"; a service without a list offers a fresh kernel. */
  async targets(signal?: AbortSignal): Promise<MoveTarget[]> {
    try {
      const targets = parseTargets((await this.request('GET', 'api/targets', undefined, signal)).body);
      return targets.length > 0 ? targets : [DEFAULT_TARGET];
    } catch (error) {
      if (error instanceof NbferryUiError && error.httpStatus === 404) return [DEFAULT_TARGET];
      throw error;
    }
  }

  async branch(jupyterKernelId: string, checkpointId: string, signal?: AbortSignal): Promise<BranchResponse> {
    return parseBranch((await this.request('POST', `kernels/${enc(jupyterKernelId)}/branch`, { checkpointId }, signal)).body);
  }

  /**
   * A long operation of the service (checkpoint, undo, checkout, migrate) started with ?async=1:
   * follows its job, reporting progress, and answers its result. A service that answers at once
   * (200 instead of 202) is fine too.
   */
  operation(path: string, body: unknown, onProgress: (p: JobProgress) => void, signal?: AbortSignal): Promise<unknown> {
    const options: FollowOptions = { onProgress, pollMs: JOB_POLL_MS, sleep: delay };
    if (signal) options.signal = signal;
    return runOperation((method, p, b, s) => this.request(method, p, b, s), path, body, options);
  }
}

function enc(segment: string): string {
  return encodeURIComponent(segment);
}

export function delay(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
