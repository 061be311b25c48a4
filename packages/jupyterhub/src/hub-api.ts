/**
 * The part of JupyterHub's REST API the service uses, with its own API token (the one JupyterHub
 * gives a managed service in JUPYTERHUB_API_TOKEN): users and their servers, start and stop, and who
 * owns a token (to authorize calls to the service's own API).
 */
import { HubApiError } from './errors.js';

export interface HubServer {
  name: string;
  ready: boolean;
  pending: string | null;
  /** The server's path behind the proxy, e.g. `/user/alice/` or `/user/alice/big/`. */
  url: string;
  started: string | null;
  last_activity: string | null;
  user_options?: Record<string, unknown>;
}

export interface HubUser {
  name: string;
  admin?: boolean;
  last_activity: string | null;
  servers?: Record<string, HubServer>;
}

export interface TokenOwner {
  kind: 'user' | 'service';
  name: string;
  scopes: string[];
}

const TIMEOUT_MS = 15_000;

export class HubApi {
  readonly apiUrl: string;

  constructor(
    /** JUPYTERHUB_API_URL, e.g. `http://127.0.0.1:8081/hub/api`. */
    apiUrl: string,
    private readonly token: string,
  ) {
    this.apiUrl = apiUrl.endsWith('/') ? apiUrl : `${apiUrl}/`;
  }

  /** Every user with their active servers. */
  async listUsers(signal?: AbortSignal): Promise<HubUser[]> {
    const users: HubUser[] = [];
    for (let offset = 0; ; ) {
      const page = await this.call<HubUser[] | { items: HubUser[]; _pagination: { next: { offset: number } | null } }>(
        'GET',
        `users?state=active&offset=${offset}&limit=200`,
        undefined,
        signal,
        { Accept: 'application/jupyterhub-pagination+json' },
      );
      if (Array.isArray(page)) return page;
      users.push(...page.items);
      if (!page._pagination.next) return users;
      offset = page._pagination.next.offset;
    }
  }

  async getUser(name: string, signal?: AbortSignal): Promise<HubUser | undefined> {
    try {
      return await this.call<HubUser>('GET', `users/${encodeURIComponent(name)}`, undefined, signal);
    } catch (error) {
      if (error instanceof HubApiError && error.status === 404) return undefined;
      throw error;
    }
  }

  /** Starts a server (the default one for `''`) with these spawner options (a profile). */
  async startServer(user: string, serverName: string, userOptions: Record<string, unknown> = {}, signal?: AbortSignal): Promise<void> {
    await this.call('POST', serverPath(user, serverName), userOptions, signal);
  }

  /** Stops a server (JupyterHub shuts its kernels down). Resolves once the Hub accepted it. */
  async stopServer(user: string, serverName: string, signal?: AbortSignal): Promise<void> {
    await this.call('DELETE', serverPath(user, serverName), undefined, signal);
  }

  /** The server's model, or undefined when it is not running (nor starting). */
  async getServer(user: string, serverName: string, signal?: AbortSignal): Promise<HubServer | undefined> {
    return (await this.getUser(user, signal))?.servers?.[serverName];
  }

  /** Waits until the server is ready (started and answering behind the proxy). */
  async waitReady(user: string, serverName: string, timeoutMs: number, signal?: AbortSignal): Promise<HubServer> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const server = await this.getServer(user, serverName, signal);
      if (server?.ready) return server;
      if (Date.now() > deadline) {
        throw new HubApiError('GET', `${this.apiUrl}${serverPath(user, serverName)}`, 504, `not ready within ${Math.round(timeoutMs / 1000)} s (pending: ${server?.pending ?? 'none'})`);
      }
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }

  /** Who owns `token` and with which scopes (undefined: the Hub does not know the token). */
  async tokenOwner(token: string, signal?: AbortSignal): Promise<TokenOwner | undefined> {
    try {
      return await this.call<TokenOwner>('GET', 'user', undefined, signal, {}, token);
    } catch (error) {
      if (error instanceof HubApiError && (error.status === 401 || error.status === 403)) return undefined;
      throw error;
    }
  }

  private async call<T>(method: string, path: string, body: unknown, signal?: AbortSignal, headers: Record<string, string> = {}, token = this.token): Promise<T> {
    const url = `${this.apiUrl}${path}`;
    const timeout = AbortSignal.timeout(TIMEOUT_MS);
    let response: Response;
    try {
      response = await fetch(url, {
        method,
        signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
        headers: { Authorization: `token ${token}`, ...(body === undefined ? {} : { 'Content-Type': 'application/json' }), ...headers },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (error) {
      throw new HubApiError(method, url, null, signal?.aborted ? 'aborted' : timeout.aborted ? 'timed out' : (error as Error).message);
    }
    const text = await response.text();
    if (!response.ok) throw new HubApiError(method, url, response.status, hubMessage(text));
    return (text === '' ? undefined : JSON.parse(text)) as T;
  }
}

function serverPath(user: string, serverName: string): string {
  const base = `users/${encodeURIComponent(user)}`;
  return serverName === '' ? `${base}/server` : `${base}/servers/${encodeURIComponent(serverName)}`;
}

function hubMessage(text: string): string {
  try {
    return String((JSON.parse(text) as { message?: string }).message ?? '').slice(0, 300);
  } catch {
    return text.slice(0, 200);
  }
}
