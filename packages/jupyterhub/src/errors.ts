/** Typed errors of the JupyterHub service. `code` is stable; `httpStatus` is what its API answers. */
import { NbferryError, redactUrl } from '@nbferry/protocol';

export class HubServiceError extends NbferryError {
  override name = 'HubServiceError';
  constructor(
    message: string,
    code: string,
    readonly httpStatus = 500,
    options?: { cause?: unknown },
  ) {
    super(message, code, options);
  }
}

/** A call to the Hub's REST API failed. */
export class HubApiError extends HubServiceError {
  override name = 'HubApiError';
  constructor(
    readonly method: string,
    url: string,
    /** HTTP status, or null when the Hub did not answer. */
    readonly status: number | null,
    detail: string,
  ) {
    super(
      `${method} ${redactUrl(url)} ${status === null ? 'got no response' : `failed with HTTP ${status}`}${detail ? `: ${detail}` : ''}. ` +
        (status === 403
          ? "The service's role lacks a scope it needs (see the operator's guide: list:users, read:users:activity, read:servers, admin:servers, access:servers)."
          : status === null
            ? 'Check JUPYTERHUB_API_URL and that the Hub runs.'
            : "See the Hub's log."),
      status === 403 ? 'HUB_SCOPE_MISSING' : status === null ? 'HUB_UNREACHABLE' : 'HUB_API_ERROR',
      502,
    );
  }
}

/** A request to the service without a valid token (401) or with one lacking admin:servers (403). */
export class HubAuthError extends HubServiceError {
  override name = 'HubAuthError';
  constructor(message: string, status: 401 | 403) {
    super(message, status === 401 ? 'HUB_SERVICE_UNAUTHORIZED' : 'HUB_SERVICE_FORBIDDEN', status);
  }
}

/** A request naming a user or server the Hub does not have, or a server in the wrong state. */
export class HubRequestError extends HubServiceError {
  override name = 'HubRequestError';
  constructor(message: string, status: 400 | 404 | 409, code = status === 404 ? 'HUB_NOT_FOUND' : status === 409 ? 'HUB_CONFLICT' : 'HUB_BAD_REQUEST') {
    super(message, code, status);
  }
}

/**
 * A server could not be suspended: a kernel's checkpoint failed or did not verify. The server was
 * NOT stopped; its kernels run on with their state. `kernels` says which failed and why.
 */
export class SuspendError extends HubServiceError {
  override name = 'SuspendError';
  constructor(
    readonly user: string,
    readonly serverName: string,
    readonly failures: { kernelId: string; path?: string; reason: string }[],
  ) {
    super(
      `server ${serverLabel(user, serverName)} was not suspended, it keeps running: ` +
        failures.map((f) => `${f.path ?? `kernel ${f.kernelId}`}: ${f.reason}`).join('; ') +
        '. Fix the cause (the store, the kernel) and the service tries again after the next idle period.',
      'SUSPEND_CHECKPOINT_FAILED',
      409,
    );
  }
}

/** A move to another server failed; what was already moved is listed, the rest stayed on the source. */
export class MoveError extends HubServiceError {
  override name = 'MoveError';
  constructor(detail: string, options?: { cause?: unknown }) {
    super(`move failed: ${detail}`, 'MOVE_FAILED', 409, options);
  }
}

export function serverLabel(user: string, serverName: string): string {
  return serverName === '' ? `${user}'s default server` : `${user}'s server "${serverName}"`;
}
