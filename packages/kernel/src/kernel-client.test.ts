// Real ipykernel processes; no fakes.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testPython } from '../../../test/support/python.js';
import { KernelDiedError, RequestAbortedError, RequestTimeoutError } from './errors.js';
import { launchKernel, type Kernel } from './launch.js';

describe('KernelClient on a real kernel', () => {
  let kernel: Kernel;
  beforeAll(async () => {
    kernel = await launchKernel({ python: testPython() });
  });
  afterAll(async () => {
    await kernel?.dispose();
  });

  it('executes, collecting streams, results and display data in order', async () => {
    const result = await kernel.client.execute(
      'import sys\nprint("out"); print("err", file=sys.stderr)\nfrom IPython.display import display, HTML\ndisplay(HTML("<b>x</b>"))\n6*7',
    );
    expect(result.status).toBe('ok');
    expect(result.stdout).toBe('out\n');
    expect(result.stderr).toBe('err\n');
    expect(result.outputs.map((o) => o.type)).toEqual(['stream', 'stream', 'display_data', 'execute_result']);
    const display = result.outputs[2]!;
    expect(display.type === 'display_data' && display.data['text/html']).toBe('<b>x</b>');
    const last = result.outputs[3]!;
    expect(last.type === 'execute_result' && last.data['text/plain']).toBe('42');
    expect(result.executionCount).toBeGreaterThan(0);
  });

  it('reports errors with name, value and traceback, and keeps working after', async () => {
    const result = await kernel.client.execute('def f():\n    raise ValueError("bad input")\nf()');
    expect(result.status).toBe('error');
    expect(result.error?.ename).toBe('ValueError');
    expect(result.error?.evalue).toBe('bad input');
    expect(result.error?.traceback.join('\n')).toContain('f()');
    expect((await kernel.client.execute('1+1')).status).toBe('ok');
  });

  it('runs silent executes with user_expressions without touching history', async () => {
    const before = await kernel.client.execute('1', { silent: true, userExpressions: { n: 'len(In)' } });
    const after = await kernel.client.execute('2', { silent: true, userExpressions: { n: 'len(In)', bad: '1/0' } });
    const value = (r: typeof before, key: string) => {
      const expr = r.userExpressions[key]!;
      return expr.status === 'ok' ? expr.data['text/plain'] : expr.ename;
    };
    expect(value(after, 'n')).toBe(value(before, 'n'));
    expect(value(after, 'bad')).toBe('ZeroDivisionError');
    expect(after.outputs).toEqual([]);
  });

  it('completes 200 concurrent executes, in order', async () => {
    const order: number[] = [];
    const all = Array.from({ length: 200 }, (_, i) =>
      kernel.client.execute(`print(${i})`).then((r) => {
        order.push(i);
        return r.stdout;
      }),
    );
    const outputs = await Promise.all(all);
    expect(outputs).toEqual(Array.from({ length: 200 }, (_, i) => `${i}\n`));
    expect(order).toEqual(Array.from({ length: 200 }, (_, i) => i));
  });

  it('surfaces stdin requests as events and sends the reply', async () => {
    const prompts: string[] = [];
    const off = kernel.client.events.on('inputRequest', (request) => {
      prompts.push(request.prompt);
      void request.reply('typed by the test');
    });
    const result = await kernel.client.execute('x = input("name? ")\nprint(x.upper())', { allowStdin: true });
    off();
    expect(prompts).toEqual(['name? ']);
    expect(result.stdout).toBe('TYPED BY THE TEST\n');
  });

  it('drops a message with a forged signature and counts it', async () => {
    const before = kernel.client.transport.stats.badSignature;
    // The kernel itself publishes a stream message signed with the wrong key, parented to this
    // request, between two genuine prints.
    const result = await kernel.client.execute(
      [
        'from jupyter_client.session import Session',
        'k = get_ipython().kernel',
        'print("before", flush=True)',
        'Session(key=b"not-the-key").send(k.iopub_socket, "stream", {"name": "stdout", "text": "FORGED\\n"}, parent=k.get_parent())',
        'print("after", flush=True)',
      ].join('\n'),
    );
    expect(result.stdout).toBe('before\nafter\n');
    expect(kernel.client.transport.stats.badSignature).toBe(before + 1);
  });

  it('honours timeouts and abort signals on requests', async () => {
    await expect(kernel.client.execute('import time; time.sleep(1.5)', { timeoutMs: 100 })).rejects.toBeInstanceOf(RequestTimeoutError);
    const controller = new AbortController();
    const pending = kernel.client.execute('import time; time.sleep(1.5)', { signal: controller.signal });
    controller.abort();
    await expect(pending).rejects.toBeInstanceOf(RequestAbortedError);
    // The kernel is still usable once the sleeps are over.
    expect((await kernel.client.execute('"still here"')).status).toBe('ok');
  });

  it('interrupts time.sleep(30) long before 30 s', async () => {
    const started = Date.now();
    const running = kernel.client.execute('import time\ntime.sleep(30)');
    await new Promise((resolve) => setTimeout(resolve, 300));
    await kernel.client.interrupt();
    const result = await running;
    expect(result.status).toBe('error');
    expect(result.error?.ename).toBe('KeyboardInterrupt');
    expect(Date.now() - started).toBeLessThan(15_000);
  });

  it('restarts with an empty namespace on the same connection', async () => {
    await kernel.client.execute('survivor = 1');
    let restarted = 0;
    kernel.client.events.on('restarted', () => (restarted += 1));
    const pidBefore = kernel.client.process?.pid;
    await kernel.client.restart();
    expect(kernel.client.process?.pid).not.toBe(pidBefore);
    const result = await kernel.client.execute('survivor');
    expect(result.error?.ename).toBe('NameError');
    expect(restarted).toBe(1);
  });
});

describe('kernel death', () => {
  it('rejects pending work with KernelDiedError when the kernel is SIGKILLed', async () => {
    const kernel = await launchKernel({ python: testPython() });
    try {
      const pending = kernel.client.execute('import time; time.sleep(60)');
      await new Promise((resolve) => setTimeout(resolve, 200));
      const killedAt = Date.now();
      kernel.client.process!.signal('SIGKILL');
      const error = await pending.catch((e: unknown) => e);
      expect(error).toBeInstanceOf(KernelDiedError);
      expect((error as KernelDiedError).signal).toBe('SIGKILL');
      expect(Date.now() - killedAt).toBeLessThan(10_000);
      await expect(kernel.client.execute('1')).rejects.toBeInstanceOf(KernelDiedError);
    } finally {
      await kernel.dispose();
    }
  });
});
