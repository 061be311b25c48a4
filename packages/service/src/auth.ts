/**
 * Bearer-token auth. The token is compared in constant time (both sides hashed first, so the
 * comparison neither leaks the token's length nor fails early on its first differing byte).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { MissingTokenError, ServiceError } from './errors.js';

const digest = (text: string) => createHash('sha256').update(text, 'utf8').digest();

export function tokenMatcher(token: string): (authorization: string | undefined) => boolean {
  const expected = digest(token);
  return (authorization) => {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '');
    return timingSafeEqual(digest(match?.[1] ?? ''), expected) && match !== null;
  };
}

/** The token from `--token-file` (must not be readable by others) or $NBFERRY_SERVICE_TOKEN. */
export async function loadToken(tokenFile: string | undefined, env: NodeJS.ProcessEnv = process.env): Promise<string> {
  if (tokenFile) {
    const unreadable = (error: unknown) =>
      new ServiceError(`cannot read the token file ${tokenFile}: ${(error as Error).message}`, 'SERVICE_TOKEN_FILE_UNREADABLE', 500, { cause: error });
    const mode = (await stat(tokenFile).catch((error: unknown) => Promise.reject(unreadable(error)))).mode;
    if (mode & 0o077) {
      throw new ServiceError(`token file ${tokenFile} is readable by others (mode ${(mode & 0o777).toString(8)}): chmod 600 it`, 'SERVICE_TOKEN_FILE_OPEN', 500);
    }
    const token = (await readFile(tokenFile, 'utf8').catch((error: unknown) => Promise.reject(unreadable(error)))).trim();
    if (token) return token;
  } else if (env.NBFERRY_SERVICE_TOKEN?.trim()) {
    return env.NBFERRY_SERVICE_TOKEN.trim();
  }
  throw new MissingTokenError();
}
