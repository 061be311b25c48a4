/**
 * A user's Jupyter Server as the service reaches it: through the Hub's proxy (the server's URL
 * behind the public URL) with the service's token, which the `access:servers` scope lets in.
 * Listing calls carry `no_track_activity`, so the service's visits do not count as the user's.
 */
import { ServerApi, type KernelModel, type SessionModel } from '@nbferry/jupyter-server';

export function userServerApi(publicUrl: string, serverUrl: string, token: string): ServerApi {
  return new ServerApi({ baseUrl: new URL(serverUrl.replace(/^\//, ''), publicUrl.endsWith('/') ? publicUrl : `${publicUrl}/`).toString(), token });
}

export interface ServerSnapshot {
  kernels: KernelModel[];
  sessions: SessionModel[];
}

export async function snapshot(api: ServerApi, signal?: AbortSignal): Promise<ServerSnapshot> {
  const [kernels, sessions] = await Promise.all([
    api.call<KernelModel[]>('GET', 'api/kernels?no_track_activity=1', undefined, { signal }),
    api.call<SessionModel[]>('GET', 'api/sessions?no_track_activity=1', undefined, { signal }),
  ]);
  return { kernels, sessions };
}

/**
 * Whether the server answers through the proxy. While the proxy has no route to it (not added yet,
 * or removed because the server stopped), the Hub itself answers the server's paths (a redirect,
 * or its own 403 page), so an answer counts only as the Jupyter Server's status JSON.
 */
export async function answering(api: ServerApi, signal?: AbortSignal): Promise<boolean> {
  try {
    const response = await fetch(new URL('api/status?no_track_activity=1', api.baseUrl), {
      headers: { Authorization: `token ${api.server.token}` },
      redirect: 'manual',
      signal: signal ? AbortSignal.any([signal, AbortSignal.timeout(5000)]) : AbortSignal.timeout(5000),
    });
    if (response.status !== 200) return false;
    const body = (await response.json()) as { started?: unknown };
    return typeof body.started === 'string';
  } catch {
    return false;
  }
}

/** Waits until `answering` (polling every 250 ms), or throws after `timeoutMs`. */
export async function waitAnswering(api: ServerApi, timeoutMs: number, signal?: AbortSignal): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await answering(api, signal))) {
    if (Date.now() > deadline) throw new Error(`${api.baseUrl} does not answer through the proxy within ${Math.round(timeoutMs / 1000)} s`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}
