/**
 * A small client for the Jupyter Server REST API (kernels, sessions, contents), with token auth,
 * AbortSignal and timeouts, and typed errors. services has REST helpers too; this one exists so
 * every failure says which call, which status, and what to do.
 */
import type { CallOptions } from '@nbferry/kernel';
import { redactSecrets } from '@nbferry/protocol';
import { ServerError } from './errors.js';

/** Where a Jupyter Server is and how to authenticate. */
export interface ServerInfo {
  /** e.g. `http://127.0.0.1:8888/` (a JupyterHub user server: `https://hub/user/alice/`). */
  baseUrl: string;
  token: string;
}

export interface KernelModel {
  id: string;
  name: string;
  last_activity?: string;
  execution_state?: string;
  connections?: number;
}

export interface SessionModel {
  id: string;
  path: string;
  name: string;
  type: string;
  kernel: KernelModel | null;
}

export interface NewSession {
  path: string;
  name?: string;
  type?: string;
  /** An existing kernel (`{ id }`) or a new one of this kernelspec (`{ name }`). */
  kernel: { id: string } | { name: string };
}

export interface ContentsModel {
  name: string;
  path: string;
  type: 'notebook' | 'file' | 'directory';
  format: string | null;
  content: unknown;
}

const DEFAULT_TIMEOUT_MS = 30_000;

export class ServerApi {
  readonly baseUrl: string;

  constructor(readonly server: ServerInfo) {
    // As Jupyter prints it, a server URL may carry the token (?token=) or credentials: requests
    // authenticate with the header, so the URL keeps only origin and path (and never shows a token).
    const url = new URL(server.baseUrl);
    const base = `${url.origin}${url.pathname}`;
    this.baseUrl = base.endsWith('/') ? base : `${base}/`;
  }

  // ---- kernels --------------------------------------------------------------------------------

  listKernels(options: CallOptions = {}): Promise<KernelModel[]> {
    return this.call<KernelModel[]>('GET', 'api/kernels', undefined, options);
  }

  /** The kernel's model, or undefined when the server does not know it (shut down, culled). */
  async getKernel(id: string, options: CallOptions = {}): Promise<KernelModel | undefined> {
    return this.orUndefined(this.call<KernelModel>('GET', `api/kernels/${encodeURIComponent(id)}`, undefined, options));
  }

  /** Starts a kernel of `name` (default: the server's default kernelspec), cwd `path` relative to the server root. */
  startKernel(spec: { name?: string; path?: string } = {}, options: CallOptions = {}): Promise<KernelModel> {
    return this.call<KernelModel>('POST', 'api/kernels', spec, options);
  }

  async shutdownKernel(id: string, options: CallOptions = {}): Promise<void> {
    await this.call('DELETE', `api/kernels/${encodeURIComponent(id)}`, undefined, options);
  }

  async interruptKernel(id: string, options: CallOptions = {}): Promise<void> {
    await this.call('POST', `api/kernels/${encodeURIComponent(id)}/interrupt`, undefined, options);
  }

  // ---- sessions -------------------------------------------------------------------------------

  listSessions(options: CallOptions = {}): Promise<SessionModel[]> {
    return this.call<SessionModel[]>('GET', 'api/sessions', undefined, options);
  }

  async getSession(id: string, options: CallOptions = {}): Promise<SessionModel | undefined> {
    return this.orUndefined(this.call<SessionModel>('GET', `api/sessions/${encodeURIComponent(id)}`, undefined, options));
  }

  async findSessionByPath(path: string, options: CallOptions = {}): Promise<SessionModel | undefined> {
    return (await this.listSessions(options)).find((s) => s.path === path);
  }

  createSession(session: NewSession, options: CallOptions = {}): Promise<SessionModel> {
    return this.call<SessionModel>('POST', 'api/sessions', { type: 'notebook', name: '', ...session }, options);
  }

  /** Points a session at another kernel of this server; the server shuts the previous kernel down. */
  setSessionKernel(sessionId: string, kernelId: string, options: CallOptions = {}): Promise<SessionModel> {
    return this.call<SessionModel>('PATCH', `api/sessions/${encodeURIComponent(sessionId)}`, { kernel: { id: kernelId } }, options);
  }

  /** Deletes the session and shuts its kernel down. */
  async deleteSession(id: string, options: CallOptions = {}): Promise<void> {
    await this.call('DELETE', `api/sessions/${encodeURIComponent(id)}`, undefined, options);
  }

  // ---- contents -------------------------------------------------------------------------------

  async getContents(path: string, options: CallOptions = {}): Promise<ContentsModel | undefined> {
    return this.orUndefined(this.call<ContentsModel>('GET', `api/contents/${encodePath(path)}?content=1`, undefined, options));
  }

  putContents(model: Pick<ContentsModel, 'path' | 'type' | 'format' | 'content'>, options: CallOptions = {}): Promise<ContentsModel> {
    return this.call<ContentsModel>('PUT', `api/contents/${encodePath(model.path)}`, model, options);
  }

  // ---- plumbing -------------------------------------------------------------------------------

  /** Resolves once the server answers an authenticated request (GET /api/status). */
  async status(options: CallOptions = {}): Promise<{ started: string; last_activity: string; kernels: number; connections: number }> {
    return this.call('GET', 'api/status', undefined, options);
  }

  async call<T>(method: string, path: string, body: unknown, options: CallOptions = {}): Promise<T> {
    const url = new URL(path, this.baseUrl).toString();
    const timeout = AbortSignal.timeout(options.timeoutMs ?? DEFAULT_TIMEOUT_MS);
    const signal = options.signal ? AbortSignal.any([options.signal, timeout]) : timeout;
    let response: Response;
    try {
      response = await fetch(url, {
        method,
        signal,
        headers: {
          Authorization: `token ${this.server.token}`,
          ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (error) {
      const why = options.signal?.aborted ? 'aborted by the caller' : timeout.aborted ? `timed out` : (error as Error).message;
      // Not the fetch error as cause: its message may quote the request (and a secret in it).
      throw new ServerError(method, url, null, redactSecrets(why, [this.server.token]));
    }
    const text = await response.text();
    if (!response.ok) throw new ServerError(method, url, response.status, serverMessage(text));
    return (text === '' ? undefined : JSON.parse(text)) as T;
  }

  private async orUndefined<T>(call: Promise<T>): Promise<T | undefined> {
    try {
      return await call;
    } catch (error) {
      if (error instanceof ServerError && error.status === 404) return undefined;
      throw error;
    }
  }
}

function serverMessage(text: string): string {
  try {
    const body = JSON.parse(text) as { message?: string; reason?: string };
    return [body.message, body.reason].filter(Boolean).join(' — ');
  } catch {
    return text.slice(0, 200);
  }
}

function encodePath(path: string): string {
  return path.split('/').map(encodeURIComponent).join('/');
}
