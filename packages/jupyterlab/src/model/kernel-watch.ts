/**
 * The abort signals of the watched kernel, kept apart by what they are about.
 *
 * Polls (state, history, plan) are about one process: a restart (same kernel id, a new process) or
 * another kernel drops their late answers. A user's action (restore, undo, checkpoint, move) is
 * about the kernel id, which the server side re-registers on the new process before serving it, so
 * only another kernel, or disposal, aborts it. Aborting it on a restart dropped its outcome without
 * a word: a Restore clicked just after JupyterLab restarted a killed kernel, before the new process
 * reported `starting`, never showed a report or an error.
 */
export class KernelWatch {
  private polls = new AbortController();
  private actions = new AbortController();

  /** For the polls of the current process; a new signal after each restart or change. */
  get pollSignal(): AbortSignal {
    return this.polls.signal;
  }

  /** For the user's actions on the current kernel id; a new signal after each change of kernel. */
  get actionSignal(): AbortSignal {
    return this.actions.signal;
  }

  /** The same kernel id now runs a new process. */
  restarted(): void {
    this.polls.abort();
    this.polls = new AbortController();
  }

  /** Another kernel (or none) is watched now. */
  changed(): void {
    this.restarted();
    this.actions.abort();
    this.actions = new AbortController();
  }

  dispose(): void {
    this.polls.abort();
    this.actions.abort();
  }
}
