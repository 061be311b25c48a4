/**
 * Telling a wrong connection-file key from a dead kernel. A kernel drops messages whose signature
 * does not verify, silently, so a wrong key looks like silence. But the heartbeat needs no key: a
 * kernel whose heartbeat echoes while its control channel (answered on its own thread, even during
 * a long cell) ignores a kernel_info_request, and from which no message verified, is alive and
 * signing with another key.
 */
import { Dealer } from 'zeromq';
import { endpoint, type ConnectionInfo } from './connection.js';
import { RequestTimeoutError } from './errors.js';
import type { KernelClient } from './kernel-client.js';
import { curveOptions } from './zmq-transport.js';

/** How long control may stay silent before the key is suspected (ipykernel answers in milliseconds). */
export const KEY_CHECK_MS = 3000;

export async function keyMismatchSuspected(
  client: KernelClient,
  info: ConnectionInfo,
  options: { timeoutMs: number; signal?: AbortSignal },
): Promise<boolean> {
  try {
    await client.request('control', 'kernel_info_request', {}, { ...options, waitForIdle: false });
    return false;
  } catch (error) {
    if (!(error instanceof RequestTimeoutError)) return false;
  }
  const { received, badSignature, malformed } = client.transport.stats;
  if (received > badSignature + malformed) return false; // something verified: the key is right
  return heartbeatEchoes(info, 1000);
}

/** One ping on the heartbeat socket: true if it comes back within `timeoutMs`. */
export async function heartbeatEchoes(info: ConnectionInfo, timeoutMs: number): Promise<boolean> {
  const socket = new Dealer({ linger: 0, sendTimeout: 0, receiveTimeout: timeoutMs, ...curveOptions(info) });
  try {
    socket.connect(endpoint(info, 'hb'));
    await socket.send('nbferry-ping');
    await socket.receive();
    return true;
  } catch {
    return false;
  } finally {
    socket.close();
  }
}
