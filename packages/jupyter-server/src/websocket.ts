/**
 * The WebSocket class services opens kernel connections with: `ws`, with the token in an
 * Authorization header (not in the URL, where it would end up in logs), no per-message compression
 * (blobs do not compress and deflate would cost CPU on both ends), a receive limit large enough
 * for a save reply that carries every serialized group at once, and an all-zero frame mask: ws then
 * sends the payload as it is instead of copying and XOR-ing every byte in JavaScript. (Masking
 * protects proxies from scripts a browser runs on an attacker's behalf; this client sends only
 * its own data.)
 */
import WebSocket from 'ws';

/** Default largest server→client message accepted: 2 GiB (ws's own default is 100 MiB). */
export const DEFAULT_MAX_RECEIVE_BYTES = 2 * 1024 * 1024 * 1024;

export function webSocketClass(token: string, maxReceiveBytes = DEFAULT_MAX_RECEIVE_BYTES): typeof globalThis.WebSocket {
  class ConfiguredWebSocket extends WebSocket {
    constructor(url: string | URL, protocols?: string | string[]) {
      super(url, protocols, {
        headers: token ? { Authorization: `token ${token}` } : {},
        perMessageDeflate: false,
        maxPayload: maxReceiveBytes,
        generateMask: (mask: Buffer) => mask.fill(0),
      });
    }
  }
  return ConfiguredWebSocket as unknown as typeof globalThis.WebSocket;
}
