import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadToken, tokenMatcher } from './auth.js';
import { MissingTokenError, ServiceError } from './errors.js';

describe('tokenMatcher', () => {
  const matches = tokenMatcher('s3cret-token');
  it.each([
    ['Bearer s3cret-token', true],
    ['bearer s3cret-token', true],
    ['Bearer s3cret-token ', true],
    ['Bearer s3cret-tokeN', false],
    ['Bearer s3cret-token-and-more', false],
    ['Bearer s3cret', false],
    ['Basic s3cret-token', false],
    ['s3cret-token', false],
    ['Bearer ', false],
    ['', false],
    [undefined, false],
  ])('%j -> %s', (header, expected) => {
    expect(matches(header)).toBe(expected);
  });
});

describe('loadToken', () => {
  it('reads a private token file, refuses one others can read, and needs a token from somewhere', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'nbferry-token-'));
    try {
      const file = join(dir, 'token');
      await writeFile(file, 'abc\n');
      await chmod(file, 0o600);
      expect(await loadToken(file, {})).toBe('abc');
      await chmod(file, 0o644);
      await expect(loadToken(file, {})).rejects.toMatchObject({ code: 'SERVICE_TOKEN_FILE_OPEN' });
      await expect(loadToken(file, {})).rejects.toBeInstanceOf(ServiceError);
      expect(await loadToken(undefined, { NBFERRY_SERVICE_TOKEN: 'xyz' })).toBe('xyz');
      await expect(loadToken(undefined, {})).rejects.toBeInstanceOf(MissingTokenError);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
