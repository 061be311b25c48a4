/**
 * Is a registered kernel still there? Asked before and during a notice's checkpoint of it: a dead
 * kernel (killed, OOM, its Jupyter Server gone with an evicted pod) answers nothing, and waiting for
 * it would spend the notice that the kernels after it need. Each probe is quick and bounded.
 */
import { ServerApi } from '@nbferry/jupyter-server';
import type { KernelClient } from '@nbferry/kernel';

/** Why the kernel is not running, or undefined when it is (or may be: the probe could not tell). */
export type LivenessProbe = () => Promise<string | undefined>;

const PROBE_TIMEOUT_MS = 2000;

/** A kernel whose process runs on this machine: its pid exists. */
export function localProcessProbe(client: KernelClient, pid: number): LivenessProbe {
  return async () => {
    if (!client.isAlive) return 'its connection reports it dead';
    try {
      process.kill(pid, 0);
      return undefined;
    } catch (error) {
      // EPERM: it exists, as another user's process.
      return (error as NodeJS.ErrnoException).code === 'ESRCH' ? `its process ${pid} is gone` : undefined;
    }
  };
}

/** A kernel behind a Jupyter Server: the server answers, lists it, and it is not dead. */
export function serverKernelProbe(client: KernelClient, server: { baseUrl: string; token: string }, kernelId: string): LivenessProbe {
  const api = new ServerApi(server);
  return async () => {
    if (!client.isAlive) return 'its connection reports it dead';
    try {
      const model = await api.call<{ execution_state?: string }>('GET', `api/kernels/${encodeURIComponent(kernelId)}?no_track_activity=1`, undefined, {
        timeoutMs: PROBE_TIMEOUT_MS,
      });
      return model.execution_state === 'dead' ? `its server reports kernel ${kernelId} dead` : undefined;
    } catch (error) {
      const status = (error as { status?: number | null }).status;
      if (status === 404) return `its server no longer has kernel ${kernelId}`;
      if (status === null) return `its Jupyter Server does not answer (${(error as Error).message})`;
      return undefined; // an auth or server error says nothing about the kernel
    }
  };
}
