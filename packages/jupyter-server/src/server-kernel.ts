/**
 * Kernels on a Jupyter Server: start one (REST) or connect to a running one (websocket), and get
 * the same ready KernelClient that launchKernel/attachKernel give for local kernels.
 *
 * Death: the server reports a kernel dead, restarts it (after it died, or because someone asked),
 * or no longer lists it (shut down by someone, culled): its state is gone, so the client fails
 * with KernelDiedError and pending requests reject. Seen from the kernel's broadcast shutdown_reply,
 * `status: restarting` from the server, the new process's `starting`, or the REST watch. Use `shutdown()` here, not `client.shutdown()`: a kernel that exits on a shutdown_request
 * the server did not send is restarted by the server's autorestarter.
 */
import { KernelConnection, ServerConnection } from '@jupyterlab/services';
import { KernelClient, KernelDiedError, RequestAbortedError, RequestTimeoutError, cancellable, type CallOptions } from '@nbferry/kernel';
import { ServerConnectionLostError, ServerError, redact } from './errors.js';
import { ServerApi, type KernelModel, type ServerInfo } from './server-api.js';
import { ServerTransport, type ServerTransportOptions } from './server-transport.js';
import { webSocketClass } from './websocket.js';
import { exactSerializer } from './wire-serializer.js';

export interface ServerKernelOptions extends CallOptions, ServerTransportOptions {
  /** Largest server→client message accepted (default 2 GiB). */
  maxReceiveBytes?: number;
  /**
   * How often to ask the server whether the kernel still exists (default every 1000 ms; false:
   * never). The server tells websocket clients nothing when a kernel is shut down or culled.
   */
  watchMs?: number | false;
}

export interface ServerKernel {
  client: KernelClient;
  api: ServerApi;
  kernelId: string;
  kernelName: string;
  transport: ServerTransport;
  /** Interrupts the running cell the server's way (a signal, or interrupt_request per kernelspec). */
  interrupt(options?: CallOptions): Promise<void>;
  /** Closes our websocket; the kernel keeps running on the server. */
  detach(): Promise<void>;
  /** Closes our websocket and shuts the kernel down through the server. */
  shutdown(options?: CallOptions): Promise<void>;
  /** `shutdown()` for kernels this process started, `detach()` for kernels it connected to. */
  dispose(): Promise<void>;
}

const DEFAULT_READY_TIMEOUT_MS = 60_000;

/** Starts a kernel on the server (cwd `path`, relative to the server root) and connects to it. */
export async function startServerKernel(
  server: ServerInfo | ServerApi,
  spec: { name?: string; path?: string } = {},
  options: ServerKernelOptions = {},
): Promise<ServerKernel> {
  const api = server instanceof ServerApi ? server : new ServerApi(server);
  const model = await api.startKernel(spec, options);
  try {
    return await open(api, model, true, options);
  } catch (error) {
    await api.shutdownKernel(model.id).catch(() => {});
    throw error;
  }
}

/** Connects to a running kernel of the server. Disposing detaches; the kernel keeps running. */
export async function connectServerKernel(
  server: ServerInfo | ServerApi,
  kernelId: string,
  options: ServerKernelOptions = {},
): Promise<ServerKernel> {
  const api = server instanceof ServerApi ? server : new ServerApi(server);
  const model = await api.getKernel(kernelId, options);
  if (!model) {
    throw new ServerError('GET', new URL(`api/kernels/${kernelId}`, api.baseUrl).toString(), 404, `no kernel ${kernelId} on this server`);
  }
  return open(api, model, false, options);
}

async function open(api: ServerApi, model: KernelModel, owned: boolean, options: ServerKernelOptions): Promise<ServerKernel> {
  const { token } = api.server;
  const serverSettings = ServerConnection.makeSettings({
    baseUrl: api.baseUrl,
    wsUrl: api.baseUrl.replace(/^http/, 'ws'),
    token,
    appendToken: false,
    WebSocket: webSocketClass(token, options.maxReceiveBytes),
    // Our serializer is typed without services' message types (see WireMessage); it returns what services sent.
    serializer: exactSerializer() as ServerConnection.ISettings['serializer'],
  });
  const connection = new KernelConnection({ model: { id: model.id, name: model.name }, serverSettings, handleComms: false });
  const transport = new ServerTransport(connection, options);
  const client = new KernelClient(transport);
  const timeoutMs = options.timeoutMs ?? DEFAULT_READY_TIMEOUT_MS;
  let ready = false;
  let closing = false;

  connection.statusChanged.connect((_sender, status) => {
    if (status === 'dead') client.fail(new KernelDiedError(`the server reports kernel ${model.id} dead`));
    if (status === 'autorestarting') client.fail(new KernelDiedError(`kernel ${model.id} died and the server restarted it`));
  });
  connection.connectionStatusChanged.connect((_sender, status) => {
    if (status === 'disconnected' && !closing) client.fail(new ServerConnectionLostError(model.id));
  });
  client.events.on('iopub', (msg) => {
    if (!ready) return;
    const type = msg.header.msg_type;
    const content = msg.content as { execution_state?: string; restart?: boolean };
    if (type === 'shutdown_reply') {
      // ipykernel broadcasts its shutdown_reply: someone (the server, a culler, a frontend) stops it.
      client.fail(new KernelDiedError(content.restart ? `kernel ${model.id} is being restarted on the server` : `kernel ${model.id} was shut down`));
    } else if (type === 'status' && (content.execution_state === 'restarting' || content.execution_state === 'starting')) {
      client.fail(new KernelDiedError(`kernel ${model.id} was restarted on the server`));
    }
  });
  const watch = options.watchMs === false ? undefined : watchKernel(api, model.id, client, options.watchMs ?? 1000);

  const close = async () => {
    closing = true;
    watch?.stop();
    await client.close();
  };
  // A dead kernel's websocket is of no further use: close it (and services' reconnect timers) now.
  client.events.on('dead', () => {
    closing = true;
    void transport.close();
  });
  try {
    await waitConnected(connection, { signal: options.signal, timeoutMs });
    await client.waitReady({ signal: options.signal, timeoutMs });
    ready = true;
  } catch (error) {
    await close();
    if (error instanceof RequestTimeoutError) {
      throw new KernelDiedError(`kernel ${model.id} on ${redact(api.baseUrl)} did not answer within ${timeoutMs} ms`);
    }
    throw error;
  }

  const shutdown = async (call: CallOptions = {}) => {
    await close();
    try {
      await api.shutdownKernel(model.id, call);
    } catch (error) {
      if (!(error instanceof ServerError && error.status === 404)) throw error;
    }
  };
  return {
    client,
    api,
    kernelId: model.id,
    kernelName: model.name,
    transport,
    interrupt: (call: CallOptions = {}) => api.interruptKernel(model.id, call),
    detach: close,
    shutdown,
    dispose: () => (owned ? shutdown() : close()),
  };
}

/** Polls the kernel's model; fails the client when the server no longer has it or calls it dead. */
function watchKernel(api: ServerApi, kernelId: string, client: KernelClient, intervalMs: number): { stop(): void } {
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  const stop = () => {
    stopped = true;
    clearTimeout(timer);
  };
  const tick = async () => {
    try {
      const model = await api.getKernel(kernelId, { timeoutMs: Math.max(intervalMs, 5000) });
      if (!model) client.fail(new KernelDiedError(`kernel ${kernelId} is gone from the server (shut down, or culled for idleness)`));
      else if (model.execution_state === 'dead') client.fail(new KernelDiedError(`the server reports kernel ${kernelId} dead`));
    } catch {
      // The server did not answer: the websocket's own reconnection logic decides about that.
    }
    if (!client.isAlive) stopped = true;
    if (!stopped) schedule();
  };
  const schedule = () => {
    timer = setTimeout(() => void tick(), intervalMs);
    timer.unref();
  };
  schedule();
  client.events.on('dead', stop);
  return { stop };
}

function waitConnected(connection: KernelConnection, options: CallOptions): Promise<void> {
  return cancellable<void>(
    options,
    (ms) => new RequestTimeoutError('websocket connection', ms),
    (reason) => new RequestAbortedError('websocket connection', reason),
    (resolve, reject) => {
      const stop = () => {
        connection.connectionStatusChanged.disconnect(check);
        connection.statusChanged.disconnect(check);
      };
      function check(): void {
        let error: Error | undefined;
        if (connection.status === 'dead' || connection.isDisposed) error = new KernelDiedError(`kernel ${connection.id} is dead`);
        else if (connection.connectionStatus === 'disconnected') error = new ServerConnectionLostError(connection.id);
        else if (connection.connectionStatus !== 'connected') return;
        stop();
        if (error) reject(error);
        else resolve();
      }
      connection.connectionStatusChanged.connect(check);
      connection.statusChanged.connect(check);
      check();
      return stop;
    },
  );
}
