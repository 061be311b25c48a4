/**
 * Secrets (a connection file's HMAC key, a server token) never reach a message, a log or a report:
 * text that might contain one (a kernel's stderr, a URL, a parser's error) goes through here first.
 */

export const REDACTED = '***';

/** `text` with every occurrence of each secret replaced by ***. Secrets shorter than 4 characters are ignored. */
export function redactSecrets(text: string, secrets: readonly (string | undefined)[]): string {
  let out = text;
  for (const secret of secrets) {
    if (secret && secret.length >= 4) out = out.split(secret).join(REDACTED);
  }
  return out;
}

/** A URL (or any text with URLs in it) fit for a message: no user:password, no `token`, `key` or `_xsrf` query values. */
export function redactUrl(url: string): string {
  return url.replace(/([a-z][a-z0-9+.-]*:\/\/)[^/@\s]*@/gi, `$1${REDACTED}@`).replace(/([?&#](?:token|key|_xsrf)=)[^&#\s]*/gi, `$1${REDACTED}`);
}
