/** How CLI commands get a kernel: a Python path, a connection file, or the python3 kernelspec. */
import { attachKernel, launchKernel, type Kernel } from '@nbferry/kernel';

export interface KernelChoice {
  python?: string;
  connectionFile?: string;
  cwd?: string;
  outlive?: boolean;
  signal?: AbortSignal;
}

export function pythonFrom(option: string | undefined): string | undefined {
  return option ?? process.env.NBFERRY_PYTHON;
}

export function openKernel(choice: KernelChoice): Promise<Kernel> {
  if (choice.connectionFile) return attachKernel(choice.connectionFile, { signal: choice.signal });
  return launchKernel({ python: choice.python, cwd: choice.cwd, outlive: choice.outlive, signal: choice.signal });
}
