import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkedTargets, parseTargetSpec, serverOf, targetViews } from './move-targets.js';

describe('move targets', () => {
  it('parses an operator\'s --target into a Jupyter Server target', () => {
    expect(parseTargetSpec('id=big,url=https://big.example/user/a/,token-file=/etc/t,label=Bigger machine,kernel=nbferry')).toEqual({
      id: 'big',
      kind: 'jupyter-server',
      label: 'Bigger machine',
      url: 'https://big.example/user/a/',
      tokenFile: '/etc/t',
      kernelName: 'nbferry',
    });
    expect(parseTargetSpec('id=b,url=http://127.0.0.1:8888,token-file=t').label).toBe('b');
  });

  it.each([
    ['url=http://x,token-file=t', /id must be/],
    ['id=a b,url=http://x,token-file=t', /id must be/],
    ['id=fresh-kernel,url=http://x,token-file=t', /service's own/],
    ['id=a,url=ftp://x,token-file=t', /url must be/],
    ['id=a,url=http://x', /token-file is required/],
    ['id=a,url=http://x,token-file=t,colour=red', /unknown key "colour"/],
    ['id=a,id=b,url=http://x,token-file=t', /given twice/],
    ['id=a,url', /not key=value/],
  ])('refuses %s with what to write', (spec, why) => {
    expect(() => parseTargetSpec(spec)).toThrow(why);
    expect(() => parseTargetSpec(spec)).toThrow(/Write id=NAME,url=URL,token-file=FILE/);
  });

  it('refuses two targets with one id', () => {
    const t = parseTargetSpec('id=a,url=http://x,token-file=t');
    expect(() => checkedTargets([t, t])).toThrow(/two targets have the id "a"/);
  });

  it('lists the fresh kernel first and never a token', () => {
    const views = targetViews([parseTargetSpec('id=big,url=http://big:8888/,token-file=/secret/file')]);
    expect(views.map((v) => [v.id, v.body])).toEqual([
      ['fresh-kernel', {}],
      ['big', { target: 'big' }],
    ]);
    expect(JSON.stringify(views)).not.toContain('/secret/file');
  });

  it('reads the token at use, and says so when it cannot', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'nbferry-targets-'));
    await writeFile(join(dir, 'token'), 'abc\n');
    await expect(serverOf(parseTargetSpec(`id=a,url=http://x/,token-file=${join(dir, 'token')}`))).resolves.toEqual({ baseUrl: 'http://x/', token: 'abc' });
    await expect(serverOf(parseTargetSpec(`id=a,url=http://x/,token-file=${join(dir, 'missing')}`))).rejects.toMatchObject({ code: 'TARGET_UNAVAILABLE', httpStatus: 503 });
  });
});
