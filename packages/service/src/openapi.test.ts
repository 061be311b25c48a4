// The committed OpenAPI description and the server agree: every route served is described, and
// every described operation is served.
import { describe, expect, it } from 'vitest';
import { apiRoutes, buildApi } from './http-api.js';
import { KernelService } from './kernel-service.js';
import openapi from './openapi.json' with { type: 'json' };

describe('openapi.json', () => {
  it('describes exactly the routes the server serves', async () => {
    const app = buildApi(new KernelService({ storeRoot: '/nonexistent', python: 'python3' }), 'token', false);
    await app.ready();
    const served = apiRoutes(app)
      .map((r) => `${r.method} ${r.url.replace(/:(\w+)/g, '{$1}')}`)
      .sort();
    const described = Object.entries(openapi.paths)
      .flatMap(([path, item]) => Object.keys(item).filter((key) => ['get', 'put', 'post', 'delete', 'patch'].includes(key)).map((method) => `${method} ${path}`))
      .sort();
    expect(served).toEqual(described);
    expect(served.length).toBeGreaterThan(10);
    await app.close();
  });
});
