/**
 * Typed errors of the Jupyter Server path. Each says what happened and what to do about it;
 * `code` is stable for programmatic handling.
 */
import { KernelError } from '@nbferry/kernel';
import { NbferryError, redactUrl } from '@nbferry/protocol';

/** A REST call to a Jupyter Server failed: the server answered with an error status, or not at all. */
export class ServerError extends NbferryError {
  override name = 'ServerError';
  constructor(
    readonly method: string,
    url: string,
    /** HTTP status, or null when no response arrived (network error, timeout, abort). */
    readonly status: number | null,
    /** The server's own message (`message`/`reason` of its JSON error body), when it gave one. */
    serverMessage: string,
    options?: { cause?: unknown },
  ) {
    super(
      `${method} ${redact(url)} ${status === null ? 'got no response' : `failed with HTTP ${status}`}${serverMessage ? `: ${redact(serverMessage)}` : ''}. ${hint(status)}`,
      codeOf(status),
      options,
    );
    this.url = redact(url);
    this.serverMessage = redact(serverMessage);
  }

  /** The request's URL, without its token. */
  readonly url: string;
  /** The server's own message (`message`/`reason` of its JSON error body), when it gave one; URLs in it without tokens. */
  readonly serverMessage: string;
}

function codeOf(status: number | null): string {
  if (status === null) return 'SERVER_UNREACHABLE';
  if (status === 401 || status === 403) return 'SERVER_AUTH';
  if (status === 404) return 'SERVER_NOT_FOUND';
  return 'SERVER_HTTP_ERROR';
}

function hint(status: number | null): string {
  if (status === null) return 'Check that the server is running and that its URL is right.';
  if (status === 401 || status === 403) return "Check the token (the server's --IdentityProvider.token).";
  if (status === 404) return 'The kernel or session may have been shut down or culled; list them to see what exists.';
  if (status >= 500) return "See the server's log for the cause.";
  return 'The request was refused; see the message above.';
}

/** Strips the token (and any user:password) from a URL before it appears in a message. */
export function redact(url: string): string {
  return redactUrl(url);
}

/**
 * A client→server websocket message would reach the server's size limit. Tornado closes the socket
 * on such a message without an error and the message is lost, so it is refused here instead.
 */
export class MessageTooLargeError extends KernelError {
  override name = 'MessageTooLargeError';
  constructor(
    readonly msgType: string,
    readonly bytes: number,
    readonly limit: number,
  ) {
    super(
      `${msgType} is ${bytes} bytes on the websocket, over the ${limit}-byte limit for client→server messages ` +
        '(tornado closes the socket on larger ones). Send large data in chunks (nbferry stages blobs in chunks ' +
        "by itself), or raise the server's websocket_max_message_size and the connection's maxMessageBytes together.",
      'MESSAGE_TOO_LARGE',
    );
  }
}

/** The websocket to the server was lost and services gave up reconnecting. The kernel may still run. */
export class ServerConnectionLostError extends KernelError {
  override name = 'ServerConnectionLostError';
  constructor(readonly kernelId: string) {
    super(
      `lost the websocket to kernel ${kernelId} and could not reconnect; the kernel may still be running on the server. ` +
        'Connect again (connectServerKernel) once the server is reachable.',
      'SERVER_CONNECTION_LOST',
    );
  }
}

/** No session matched (by id or path) on a server. */
export class SessionNotFoundError extends NbferryError {
  override name = 'SessionNotFoundError';
  /** The server's URL, without its token. */
  readonly baseUrl: string;
  constructor(
    baseUrl: string,
    readonly which: string,
  ) {
    super(`no session ${which} on ${redact(baseUrl)}; list the server's sessions (GET /api/sessions) to see what is running`, 'SESSION_NOT_FOUND');
    this.baseUrl = redact(baseUrl);
  }
}

export type SessionMigrationStage =
  | 'find-session'
  | 'attach-source'
  | 'start-target'
  | 'migrate'
  | 'verify'
  | 'source-changed'
  | 'repoint';

/**
 * A session migration failed. The source kernel was left running, with its state, and its session
 * still points at it; whatever was started on the target was shut down.
 */
export class SessionMigrationError extends NbferryError {
  override name = 'SessionMigrationError';
  constructor(
    readonly stage: SessionMigrationStage,
    detail: string,
    readonly sourceKernelId: string | undefined,
    options?: { cause?: unknown },
  ) {
    super(
      `session migration failed at "${stage}": ${detail}. ` +
        (sourceKernelId
          ? `The source kernel ${sourceKernelId} is still running, untouched, and its session still points at it.`
          : 'Nothing was changed on the source server.'),
      'SESSION_MIGRATION_FAILED',
      options,
    );
  }
}
