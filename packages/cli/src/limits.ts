/**
 * Time bounds a command passes down. nbferry's own requests (`--timeout`) are bounded by default
 * in the library; user cells (`--cell-timeout`, `--unresponsive`) are not unless asked, since a
 * notebook cell may legitimately run for hours.
 */
export interface Limits {
  /** Bound on each of nbferry's own requests to a kernel (shim operations, queries): library `timeoutMs`. */
  timeoutMs?: number;
  /** Seconds measure may spend pickling one group (CheckpointOptions.measureBudgetSec). */
  measureBudgetSec?: number;
  /** Bound on each notebook cell's run (ExecuteOptions.timeoutMs). */
  cellTimeoutMs?: number;
  /** Give a cell up when the kernel's control channel stays silent this long (ExecuteOptions.unresponsiveMs). */
  unresponsiveMs?: number;
}
