// A server's token never appears in an error: not in its message, not in its fields.
import { describe, expect, it } from 'vitest';
import { ServerError, SessionNotFoundError } from './errors.js';
import { ServerApi } from './server-api.js';

const TOKEN = 'f00dcafe-t0ken-5ecr3t-0123456789';

function everything(error: unknown): string {
  const parts: string[] = [];
  for (let e: unknown = error; e; e = (e as { cause?: unknown }).cause) parts.push(String(e), JSON.stringify(e));
  return parts.join('\n');
}

describe('server tokens stay secret', () => {
  it('an unreachable server given a URL with its token (as Jupyter prints it) is reported without it', async () => {
    const api = new ServerApi({ baseUrl: `http://user:${TOKEN}@127.0.0.1:1/?token=${TOKEN}`, token: TOKEN });
    const error = await api.status({ timeoutMs: 5000 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ServerError);
    expect(everything(error)).not.toContain(TOKEN);
  });

  it('error messages and fields mask token, key and userinfo', () => {
    const http = new ServerError('GET', `http://host:8888/api/kernels?token=${TOKEN}&x=1`, 403, 'Forbidden');
    expect(http.message).toContain('token=***&x=1');
    expect(http.url).not.toContain(TOKEN);
    expect(everything(http)).not.toContain(TOKEN);
    expect(everything(new SessionNotFoundError(`https://u:${TOKEN}@host/lab?token=${TOKEN}`, 'nb.ipynb'))).not.toContain(TOKEN);
  });
});
