/**
 * How long nbferry waits for each shim operation when the caller sets no `timeoutMs`. Shim
 * operations are nbferry's own work, so they are always bounded (user cells are not): a kernel
 * that stops answering (busy in a long cell, or wedged by user code that replaced something it
 * needs) fails with ShimTimeoutError instead of hanging a checkpoint forever.
 */
export const SHIM_TIMEOUTS_MS = {
  /** Bookkeeping: hello, history, variables, RNG states, warm-up, staging. */
  quick: 60_000,
  /** measure and fingerprint: every variable is hashed once (no budget there), so scale with state. */
  measure: 300_000,
  /** save, save_buffers, load: bytes to and from disk or the wire (a few GB at tens of MB/s). */
  bulk: 900_000,
} as const;

const BULK = new Set(['save', 'save_buffers', 'load', 'stage_chunk', 'stage_stored_chunks']);
const MEASURE = new Set(['measure', 'fingerprint']);

export function defaultShimTimeoutMs(op: string): number {
  if (BULK.has(op)) return SHIM_TIMEOUTS_MS.bulk;
  if (MEASURE.has(op)) return SHIM_TIMEOUTS_MS.measure;
  return SHIM_TIMEOUTS_MS.quick;
}

/**
 * After the kernel reports idle on a request, its reply is already on the wire (the shim replies
 * while handling, and iopub keeps order). This grace covers delivery only; a reply still missing
 * after it will never come.
 */
export const REPLY_GRACE_MS = 2000;

/**
 * A kernel whose control channel stays silent this long while it handles a shim request is wedged
 * (KernelUnresponsiveError) long before the op's timeout: ipykernel answers control on its own
 * thread even while busy. Generous, since C code holding the interpreter lock also silences it.
 */
export const SHIM_UNRESPONSIVE_MS = 60_000;
