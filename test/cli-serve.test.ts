// `nbferry serve` on the command line: what it refuses before listening (exit 2, saying why), and a
// port already taken named as such.
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nbferry } from './support/cli.js';

describe('nbferry serve', () => {
  let dir = '';
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'nbferry-cli-serve-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('needs --stores', async () => {
    const result = await nbferry(['serve']);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/needs --stores DIR/);
  });

  it('needs a token, from a private file or $NBFERRY_SERVICE_TOKEN', async () => {
    const stores = join(dir, 'stores');
    const none = await nbferry(['serve', '--stores', stores], { env: { NBFERRY_SERVICE_TOKEN: undefined } });
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/needs an API token: --token-file FILE/);

    const missing = await nbferry(['serve', '--stores', stores, '--token-file', join(dir, 'nope')]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/cannot read the token file .*nope.*ENOENT/);

    const open = join(dir, 'open-token');
    await writeFile(open, 'abc');
    await chmod(open, 0o644);
    const readable = await nbferry(['serve', '--stores', stores, '--token-file', open]);
    expect(readable.code).toBe(2);
    expect(readable.stderr).toMatch(/readable by others .*chmod 600/);
  });

  it('says so when the port is taken', async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as { port: number }).port;
    try {
      const result = await nbferry(['serve', '--stores', join(dir, 'stores'), '--port', String(port)], { env: { NBFERRY_SERVICE_TOKEN: 't' } });
      expect(result.code).toBe(2);
      expect(result.stderr).toMatch(/cannot listen on 127\.0\.0\.1:\d+: .*another process has that port/);
    } finally {
      blocker.close();
    }
  });

  it('rejects a bad port', async () => {
    const result = await nbferry(['serve', '--stores', join(dir, 'stores'), '--port', '70000']);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/port number from 0 to 65535/);
  });
});
