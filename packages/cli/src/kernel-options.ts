/** How CLI commands get a kernel: a Python path, a connection file, or the python3 kernelspec. */
import { attachKernel, launchKernel, type Kernel } from '@nbferry/kernel';

export interface KernelChoice {
  python?: string;
  connectionFile?: string;
  cwd?: string;
  outlive?: boolean;
  signal?: AbortSignal;
  /** Bound on attaching to a running kernel (--timeout); launching has its own start-up bound. */
  timeoutMs?: number;
}

export function pythonFrom(option: string | undefined): string | undefined {
  return option ?? process.env.NBFERRY_PYTHON;
}

export function openKernel(choice: KernelChoice): Promise<Kernel> {
  if (choice.connectionFile) return attachKernel(choice.connectionFile, { signal: choice.signal, timeoutMs: choice.timeoutMs });
  return launchKernel({ python: choice.python, cwd: choice.cwd, outlive: choice.outlive, signal: choice.signal });
}

/**
 * Shuts down a kernel this command launched. When the command was interrupted the kernel may be
 * busy with a cell we sent: interrupt it first, so it exits at once instead of after the grace period.
 */
export async function stopKernel(kernel: Kernel, signal: AbortSignal | undefined): Promise<void> {
  if (signal?.aborted) await kernel.client.interrupt({ timeoutMs: 1000 }).catch(() => {});
  await kernel.dispose();
}
