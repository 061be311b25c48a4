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
