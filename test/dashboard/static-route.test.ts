import Fastify from 'fastify';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEPLOYMENT_PAGE } from '../../server/dashboard/pages.ts';
import { dashboardStatic } from '../../server/dashboard/static-route.ts';
import { installErrorHandling } from '../../server/http/error-handler.ts';

describe('the dashboard static route', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'brewtel-dist-'));
    await mkdir(join(dir, 'assets'));
    await writeFile(join(dir, 'index.html'), '<!doctype html><title>t</title>');
    await writeFile(join(dir, 'deployment.html'), '<!doctype html><title>deployment</title>');
    await writeFile(join(dir, 'assets', 'app-0123.js'), 'console.log(1)');
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  const appWith = async (distDir: string, page?: string) => {
    const app = Fastify();
    installErrorHandling(app);
    await app.register(dashboardStatic, { dir: distDir, ...(page === undefined ? {} : { page }) });
    return app;
  };

  it('revalidates the page, caches hashed assets for a year and compresses when asked', async () => {
    const app = await appWith(dir);
    const page = await app.inject({ url: '/', headers: { 'accept-encoding': 'gzip, br' } });
    expect(page.statusCode).toBe(200);
    expect(page.headers['cache-control']).toBe('no-cache');
    expect(page.headers['content-security-policy']).toContain("default-src 'self'");
    expect(page.headers['content-encoding']).toBe('gzip');
    expect(gunzipSync(page.rawPayload).toString()).toContain('<title>t</title>');
    const script = await app.inject({ url: '/assets/app-0123.js' });
    expect(script.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    expect(script.headers['content-type']).toContain('text/javascript');
    expect(script.headers['content-encoding']).toBeUndefined();
    expect(script.body).toBe('console.log(1)');
    const missing = await app.inject({ url: '/assets/nope.js' });
    expect(missing.statusCode).toBe(404);
    expect(missing.json()).toMatchObject({ code: 'NOT_FOUND' });
    await app.close();
  });

  it('serves the page it is given at / (the directory its deployment overview), with the same assets', async () => {
    const app = await appWith(dir, DEPLOYMENT_PAGE);
    const page = await app.inject({ url: '/' });
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain('<title>deployment</title>');
    expect((await app.inject({ url: '/assets/app-0123.js' })).statusCode).toBe(200);
    await app.close();
  });

  it('answers a clear 404 when the dashboard was never built', async () => {
    const app = await appWith(join(dir, 'absent'));
    const page = await app.inject({ url: '/' });
    expect(page.statusCode).toBe(404);
    expect(page.json()).toMatchObject({ code: 'NOT_FOUND', message: expect.stringContaining('dashboard:build') });
    await app.close();
  });
});
