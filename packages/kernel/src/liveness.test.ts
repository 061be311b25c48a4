// The liveness watch on real kernels: a kernel whose messaging user code wedged fails the pending
// request with KernelUnresponsiveError; a kernel merely busy in a long cell is left alone.
import { describe, expect, it } from 'vitest';
import { testPython } from '../../../test/support/python.js';
import { KernelUnresponsiveError } from './errors.js';
import { launchKernel } from './launch.js';

describe('liveness watch (unresponsiveMs)', () => {
  it('a kernel wedged by a cell that rebinds builtins.len fails the next request, typed, instead of hanging', async () => {
    const kernel = await launchKernel({ python: testPython() });
    try {
      // This very cell never gets its reply: the kernel's own message handling now calls the fake len.
      const wedging = await kernel.client
        .execute('import builtins; builtins.len = lambda x: 0', { unresponsiveMs: 3000 })
        .catch((e: unknown) => e);
      expect(wedging).toBeInstanceOf(KernelUnresponsiveError);
      expect((wedging as Error).message).toMatch(/execute_request.*3000 ms.*unresponsiveMs/);
      expect(kernel.client.isAlive).toBe(true); // not declared dead: its state may be intact
    } finally {
      await kernel.dispose();
    }
  });

  it('a kernel busy in a long cell keeps answering control and is not taken for wedged', async () => {
    const kernel = await launchKernel({ python: testPython() });
    try {
      const result = await kernel.client.execute('import time; time.sleep(5); done = True', { unresponsiveMs: 1500 });
      expect(result.status).toBe('ok');
    } finally {
      await kernel.dispose();
    }
  });
});
