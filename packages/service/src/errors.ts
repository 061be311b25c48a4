/** Typed errors of the service. `httpStatus` is what the API answers with; `code` is stable. */
import { NbferryError } from '@nbferry/protocol';

export class ServiceError extends NbferryError {
  override name = 'ServiceError';
  constructor(
    message: string,
    code: string,
    readonly httpStatus: number,
    options?: { cause?: unknown },
  ) {
    super(message, code, options);
  }
}

export class UnknownKernelError extends ServiceError {
  override name = 'UnknownKernelError';
  constructor(readonly id: string) {
    super(`no kernel "${id}" is registered with this service: GET /kernels lists them`, 'UNKNOWN_KERNEL', 404);
  }
}

export class UnknownStoreError extends ServiceError {
  override name = 'UnknownStoreError';
  constructor(readonly store: string) {
    super(`no store "${store}" in this service's store root: GET /stores lists them`, 'UNKNOWN_STORE', 404);
  }
}

/** A request body the API cannot act on (what is wrong and what is accepted). */
export class BadRequestError extends ServiceError {
  override name = 'BadRequestError';
  constructor(detail: string) {
    super(detail, 'BAD_REQUEST', 400);
  }
}

/**
 * A registration (or a restore, a migration) asked for a kernel id that is taken: registered, or
 * being registered by another request that has not finished attaching (two registrations of one
 * kernel at once would both attach, and one would silently replace the other).
 */
export class KernelIdTakenError extends ServiceError {
  override name = 'KernelIdTakenError';
  constructor(
    readonly id: string,
    readonly inProgress: boolean,
  ) {
    super(
      inProgress
        ? `kernel id "${id}" is being registered by another request: wait for it (GET /kernels/${id}) rather than registering it again`
        : `kernel id "${id}" is already registered: choose another or DELETE /kernels/${id} first`,
      'KERNEL_ID_TAKEN',
      409,
    );
  }
}

/** The service cannot start without a token: an API that moves kernel state must not be open. */
export class MissingTokenError extends ServiceError {
  override name = 'MissingTokenError';
  constructor() {
    super(
      'nbferry serve needs an API token: --token-file FILE (readable by you only) or $NBFERRY_SERVICE_TOKEN. ' +
        'Clients send it as "Authorization: Bearer <token>"',
      'SERVICE_TOKEN_MISSING',
      500,
    );
  }
}

/** An operation that needs a kernel on this machine (its process, its files) asked of a remote one. */
export class NotLocalKernelError extends ServiceError {
  override name = 'NotLocalKernelError';
  constructor(id: string, what: string) {
    super(
      `kernel "${id}" is behind a Jupyter Server, ${what} needs a kernel registered by connection file on this machine`,
      'KERNEL_NOT_LOCAL',
      409,
    );
  }
}

/** An operation that needs the store on this machine's disk asked of an object store. */
export class RemoteStoreUnsupportedError extends ServiceError {
  override name = 'RemoteStoreUnsupportedError';
  constructor(store: string, what: string) {
    super(`${what} needs a store on this machine's disk; ${store} is an object store. Checkpoint explicitly (POST /kernels/{id}/checkpoint), or restore a checkpoint of it into a new kernel (POST /stores/{store}/restore)`, 'STORE_NOT_LOCAL', 409);
  }
}

/** A checkpoint with a deadline was not done by then: abandoned, nothing committed. */
export class CheckpointDeadlineError extends ServiceError {
  override name = 'CheckpointDeadlineError';
  constructor(id: string, deadlineMs: number, options?: { cause?: unknown }) {
    super(
      `the checkpoint of kernel "${id}" was not done within its ${deadlineMs / 1000} s deadline: it was abandoned, nothing was committed ` +
        'and the previous checkpoint is still the latest. Give it more time, or turn auto-checkpoint on so that less is left to write',
      'CHECKPOINT_DEADLINE_PASSED',
      504,
      options,
    );
  }
}

/** A notice arrived while one is already being handled: the first one's deadline stands. */
export class NoticeInProgressError extends ServiceError {
  override name = 'NoticeInProgressError';
  constructor() {
    super('a preemption notice is already being handled: its report comes with its own response (GET /notice shows the last one)', 'NOTICE_IN_PROGRESS', 409);
  }
}

/** The kernel has no checkpoint yet: nothing has a plan, nothing can be undone to. */
export class NoCheckpointError extends ServiceError {
  override name = 'NoCheckpointError';
  constructor(id: string) {
    super(`kernel "${id}" has no checkpoint yet: POST /kernels/${id}/checkpoint first (or turn auto-checkpoint on)`, 'NO_CHECKPOINT', 404);
  }
}
