/**
 * Right-sizing: a kernel whose resident memory nears its limit is checkpointed before the OOM
 * killer fires and, with a configured target, its server's session is moved to a bigger named
 * server (moveServer). Memory is read from /proc, so this needs the kernels on the service's
 * machine (SimpleLocalProcessSpawner, or the service beside them on the node); a kernel whose
 * process is not visible here is skipped (logged once). The limit is the configured one, else the
 * tightest cgroup `memory.max` above the kernel's process.
 */
import { connectServerKernel, type ServerApi } from '@nbferry/jupyter-server';
import { Recorder } from '@nbferry/recorder';
import { cgroupMemoryLimit, residentBytes } from '@nbferry/service';

export interface MemoryPolicy {
  /** The memory a kernel may use (default: its cgroup's memory.max). */
  limitBytes?: number;
  /** Act once resident memory passes this fraction of the limit (default 0.85). */
  thresholdFraction?: number;
  /** Move the session to this named server (with these spawner options) instead of only checkpointing. */
  moveTo?: { server: string; userOptions?: Record<string, unknown> };
}

export interface MemoryReading {
  kernelId: string;
  pid: number;
  rssBytes: number;
  limitBytes: number;
}

/** Kernel pids, learnt once per kernel (attaching is kernel activity: not at every poll). */
export class KernelPids {
  private readonly pids = new Map<string, number | null>();

  async pid(api: ServerApi, kernelId: string, signal?: AbortSignal): Promise<number | undefined> {
    if (!this.pids.has(kernelId)) {
      const connected = await connectServerKernel(api, kernelId, { signal, watchMs: false });
      try {
        const recorder = await Recorder.attach(connected.client, { signal });
        this.pids.set(kernelId, recorder.hello.pid);
      } finally {
        await connected.detach().catch(() => {});
      }
    }
    return this.pids.get(kernelId) ?? undefined;
  }

  known(kernelId: string): boolean {
    return this.pids.has(kernelId);
  }

  forget(kernelId: string): void {
    this.pids.delete(kernelId);
  }
}

/** The kernels past the policy's threshold (those whose process is not on this machine are left out). */
export async function overThreshold(pids: { kernelId: string; pid: number }[], policy: MemoryPolicy): Promise<MemoryReading[]> {
  const over: MemoryReading[] = [];
  for (const { kernelId, pid } of pids) {
    const rssBytes = await residentBytes(pid);
    if (rssBytes === undefined) continue;
    const limitBytes = policy.limitBytes ?? (await cgroupMemoryLimit(pid));
    if (limitBytes === undefined) continue;
    if (rssBytes >= limitBytes * (policy.thresholdFraction ?? 0.85)) over.push({ kernelId, pid, rssBytes, limitBytes });
  }
  return over;
}
