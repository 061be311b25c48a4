// Signed checkpoints from the command line, on real kernels: keygen, --key-file, NBFERRY_KEY_FILE,
// --trust-unsigned, and a public-only key refused before anything runs. Also the time options.
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { attachKernel, launchKernel } from '@nbferry/kernel';
import { nbferry } from './support/cli.js';
import { notebook } from './support/notebook.js';
import { testPython } from './support/python.js';
import { assertDocument } from './support/schemas.js';

interface Signature {
  state: string;
  keyId: string | null;
}

async function shutdown(connectionFile: string): Promise<void> {
  const kernel = await attachKernel(connectionFile);
  await kernel.client.shutdown();
}

describe('nbferry keys', () => {
  let dir: string;
  let key: string;
  let keyId: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'nbf-cli-keys-'));
    await writeFile(join(dir, 'nb.ipynb'), notebook(['values = [i * i for i in range(100)]', 'total = sum(values)']));
    key = join(dir, 'team.key');
    const result = await nbferry(['keygen', '--out', key, '--json']);
    expect(result.code, result.stderr).toBe(0);
    const document = JSON.parse(result.stdout) as { keyId: string; keyFile: string; publicKeyFile: string };
    assertDocument('keygen', document);
    expect(document).toMatchObject({ keyFile: key, publicKeyFile: `${key}.pub` });
    keyId = document.keyId;
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('keygen writes the private key 0600 and the public key beside it, and never overwrites one', async () => {
    expect((await stat(key)).mode & 0o777).toBe(0o600);
    expect(await readFile(key, 'utf8')).toMatch(/^-----BEGIN PRIVATE KEY-----/);
    expect(await readFile(`${key}.pub`, 'utf8')).toMatch(/^-----BEGIN PUBLIC KEY-----/);
    const text = await nbferry(['keygen', '--out', join(dir, 'other.key')]);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toMatch(/^key [0-9a-f]{16}\n/);
    expect(text.stdout).toContain(`public key  ${join(dir, 'other.key')}.pub`);
    const again = await nbferry(['keygen', '--out', key, '--json']);
    expect(again.code).toBe(2);
    const error = JSON.parse(again.stdout) as { code: string; name: string; message: string };
    assertDocument('error', error);
    expect(error).toMatchObject({ code: 'KEY_FILE', name: 'KeyFileError' });
    expect(error.message).toMatch(/already exists/);
  });

  it('signs with --key-file, verifies with the .pub; inspect shows the signature', async () => {
    const store = join(dir, 'signed-store');
    const run = await nbferry(['run', join(dir, 'nb.ipynb'), '--python', testPython(), '--checkpoint', store, '--key-file', key, '--json']);
    expect(run.code, run.stderr).toBe(0);
    const ran = JSON.parse(run.stdout) as { checkpoint: { signature: Signature } };
    assertDocument('run', ran);
    expect(ran.checkpoint.signature).toEqual({ state: 'verified', keyId });

    const inspected = await nbferry(['inspect', store, '--key-file', `${key}.pub`, '--json']);
    expect(inspected.code, inspected.stderr).toBe(0);
    const info = JSON.parse(inspected.stdout) as { checkpoint: { signature: Signature } };
    assertDocument('inspect', info);
    expect(info.checkpoint.signature).toEqual({ state: 'verified', keyId });
    const unchecked = await nbferry(['inspect', store]);
    expect(unchecked.code, unchecked.stderr).toBe(0);
    expect(unchecked.stdout).toMatch(new RegExp(`signature: signed by key ${keyId}, not verified`));

    const restored = await nbferry(['restore', store, '--python', testPython(), '--key-file', `${key}.pub`, '--json']);
    expect(restored.code, restored.stderr).toBe(0);
    const document = JSON.parse(restored.stdout) as { ok: boolean; connectionFile: string };
    assertDocument('restore', document);
    expect(document.ok).toBe(true);
    await shutdown(document.connectionFile);

    // migrate signs its checkpoint and verifies it on restore with the same key.
    const migrated = await nbferry(['migrate', join(dir, 'nb.ipynb'), '--python', testPython(), '--key-file', key, '--json']);
    expect(migrated.code, migrated.stderr).toBe(0);
    const report = JSON.parse(migrated.stdout) as { ok: boolean; checkpoint: { signature: Signature } };
    assertDocument('migrate', report);
    expect(report).toMatchObject({ ok: true, checkpoint: { signature: { state: 'verified', keyId } } });
  });

  it('with a key configured ($NBFERRY_KEY_FILE), an unsigned checkpoint is refused before any kernel starts, unless --trust-unsigned', async () => {
    const store = join(dir, 'unsigned-store');
    const run = await nbferry(['run', join(dir, 'nb.ipynb'), '--python', testPython(), '--checkpoint', store, '--quiet'], { env: { NBFERRY_KEY_FILE: '' } });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/signature: unsigned/);
    const env = { NBFERRY_KEY_FILE: `${key}.pub` };

    // No Python that could start: the refusal comes before any kernel is launched.
    const refused = await nbferry(['restore', store, '--python', join(dir, 'no-python'), '--json'], { env });
    expect(refused.code).toBe(4);
    const error = JSON.parse(refused.stdout) as { code: string; name: string; message: string; exitCode: number };
    assertDocument('error', error);
    expect(error).toMatchObject({ code: 'CHECKPOINT_UNTRUSTED', name: 'UntrustedCheckpointError', exitCode: 4 });
    expect(error.message).toMatch(/unsigned/);
    expect(error.message).toMatch(/--trust-unsigned/);
    expect(refused.stderr).toMatch(/UntrustedCheckpointError: .*Nothing from it was loaded or run/);

    const inspectRefused = await nbferry(['inspect', store], { env });
    expect(inspectRefused.code).toBe(4);
    const inspectTrusted = await nbferry(['inspect', store, '--trust-unsigned', '--json'], { env });
    expect(inspectTrusted.code, inspectTrusted.stderr).toBe(0);
    expect((JSON.parse(inspectTrusted.stdout) as { checkpoint: { signature: Signature } }).checkpoint.signature).toEqual({ state: 'unsigned', keyId: null });

    const trusted = await nbferry(['restore', store, '--python', testPython(), '--trust-unsigned', '--json'], { env });
    expect(trusted.code, trusted.stderr).toBe(0);
    const document = JSON.parse(trusted.stdout) as { ok: boolean; connectionFile: string };
    assertDocument('restore', document);
    expect(document.ok).toBe(true);
    await shutdown(document.connectionFile);
  });

  it('writing with a public-only key fails at once (usage, 2): no notebook run, nothing written', async () => {
    const store = join(dir, 'never-store');
    // A missing Python proves no kernel was started: that would fail with status 3.
    const run = await nbferry(['run', join(dir, 'nb.ipynb'), '--python', join(dir, 'no-python'), '--checkpoint', store, '--key-file', `${key}.pub`, '--json']);
    expect(run.code).toBe(2);
    const error = JSON.parse(run.stdout) as { code: string; message: string };
    assertDocument('error', error);
    expect(error.code).toBe('KEY_FILE');
    expect(error.message).toMatch(/holds only a public key: writing a signed checkpoint needs the private key file/);
    expect(existsSync(store)).toBe(false);
    const migrate = await nbferry(['migrate', join(dir, 'nb.ipynb'), '--python', join(dir, 'no-python')], { env: { NBFERRY_KEY_FILE: `${key}.pub` } });
    expect(migrate.code).toBe(2);
    expect(migrate.stderr).toMatch(/KeyFileError: key file .*team\.key\.pub: holds only a public key/);
    const checkpoint = await nbferry(['checkpoint', '--connection-file', join(dir, 'no-kernel.json'), '--out', store, '--key-file', `${key}.pub`]);
    expect(checkpoint.code).toBe(2);
    expect(checkpoint.stderr).toMatch(/KeyFileError/);
    const missing = await nbferry(['inspect', store, '--key-file', join(dir, 'no-such.key')]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/KeyFileError: key file .*no-such\.key: cannot read it \(ENOENT\)/);
  });
});

describe('nbferry help for the new options', () => {
  it('restore, inspect, migrate, run and keygen list their key, trust, directory and time options', async () => {
    const expected: Record<string, string[]> = {
      restore: ['--key-file <file>', '--trust-unsigned', '--cwd <dir>', '--cwd-from-checkpoint', '--replace-existing', '--allow-different', '--timeout <seconds>'],
      inspect: ['--key-file <file>', '--trust-unsigned'],
      migrate: ['--key-file <file>', '--allow-different', '--timeout <seconds>', '--measure-budget <seconds>', '--cell-timeout <seconds>', '--unresponsive <seconds>'],
      run: ['--key-file <file>', '--timeout <seconds>', '--measure-budget <seconds>', '--cell-timeout <seconds>', '--unresponsive <seconds>'],
      checkpoint: ['--key-file <file>', '--timeout <seconds>', '--measure-budget <seconds>'],
      keygen: ['--out <file>', '--json'],
    };
    for (const [command, options] of Object.entries(expected)) {
      const help = await nbferry([command, '--help']);
      expect(help.code).toBe(0);
      for (const option of options) expect(help.stdout, `${command} ${option}`).toContain(option);
    }
    const checkpointHelp = await nbferry(['checkpoint', '--help']);
    expect(checkpointHelp.stdout).not.toMatch(/^ +--trust-unsigned/m); // it only writes
    const keygen = await nbferry(['keygen']);
    expect(keygen.code).toBe(2);
    expect(keygen.stderr).toMatch(/needs --out FILE/);
  });
});

describe('nbferry time options', () => {
  it('bad values are usage errors (2) naming what is accepted', async () => {
    for (const [option, value] of [
      ['--timeout', 'abc'],
      ['--timeout', '0'],
      ['--measure-budget', '-1'],
      ['--cell-timeout', ''],
      ['--unresponsive', 'soon'],
    ] as const) {
      const result = await nbferry(['run', 'nb.ipynb', option, value, '--json']);
      expect(result.code, `${option} ${value}`).toBe(2);
      expect(result.stderr).toMatch(new RegExp(`option '${option} <seconds>' argument '${value}' is invalid. expected a number of seconds greater than 0`));
      const error = JSON.parse(result.stdout) as { code: string };
      assertDocument('error', error);
      expect(error.code).toBe('USAGE');
    }
    const restore = await nbferry(['restore', 'store', '--timeout', 'x']);
    expect(restore.code).toBe(2);
  });

  it('--cell-timeout gives up a cell that runs too long (kernel failure, 3), long before the cell would end', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'nbf-cli-time-'));
    try {
      await writeFile(join(dir, 'slow.ipynb'), notebook(['import time\ntime.sleep(120)', 'after = 1']));
      const result = await nbferry(['run', join(dir, 'slow.ipynb'), '--python', testPython(), '--cell-timeout', '1.5', '--json']);
      expect(result.code, result.stderr).toBe(3);
      const error = JSON.parse(result.stdout) as { code: string; name: string };
      assertDocument('error', error);
      expect(error).toMatchObject({ code: 'REQUEST_TIMEOUT', name: 'RequestTimeoutError' });
      expect(result.stderr).toMatch(/execute_request did not complete within 1500 ms/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("--timeout bounds nbferry's own requests: checkpointing a kernel busy in a long cell gives up (3)", async () => {
    const kernel = await launchKernel({ python: testPython() });
    const busy = kernel.client.execute('import time\ntime.sleep(120)');
    try {
      const result = await nbferry(['checkpoint', '--connection-file', kernel.connectionFile, '--out', join(tmpdir(), 'nbf-never-written'), '--timeout', '2', '--json']);
      expect(result.code, result.stderr).toBe(3);
      const error = JSON.parse(result.stdout) as { message: string };
      assertDocument('error', error);
      // The bound given, not the 10 s default of attaching.
      expect(error.message).toMatch(/within 2000 ms/);
    } finally {
      await kernel.client.interrupt();
      await busy.catch(() => {});
      await kernel.dispose();
    }
  });
});
