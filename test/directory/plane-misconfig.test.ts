import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { planesResponseSchema } from '../../schema/directory.ts';
import type { RunningDirectory } from '../../server/directory/directory.ts';
import type { RunningServer } from '../../server/server.ts';
import { call, DIRECTORY_ADMIN, LOOKUP, planeAdmin, planeOf, removeDir, startPlane, startTestDirectory, tempDir } from './planes.ts';

/** Planes configured wrongly: the directory says so with 502 PLANE_REJECTED for that region, and records nothing. And its request limits. */
describe('misconfigured planes', () => {
  let root: string;
  let eu: RunningServer;
  let directory: RunningDirectory;

  beforeAll(async () => {
    root = await tempDir('directory-misconfig');
    eu = await startPlane('eu', join(root, 'eu'));
    directory = await startTestDirectory(join(root, 'directory'), [
      // The right server, a token it does not know.
      { ...planeOf('eu', eu), token: 'not-a-token-of-this-plane-0123456789' },
      // The eu server given as cn's plane, with a token it knows: it holds no region cn.
      { ...planeOf('cn', eu), token: planeAdmin('eu') },
    ]);
  });
  afterAll(async () => {
    await directory?.close();
    await eu?.close();
    await removeDir(root);
  });

  it('answers 502 PLANE_REJECTED for a refused token and for a plane of another region', async () => {
    for (const region of ['eu', 'cn']) {
      expect(await call(directory.url, 'POST', '/api/v1/directory/devices', DIRECTORY_ADMIN, { region })).toMatchObject({
        status: 502,
        json: { code: 'PLANE_REJECTED', message: expect.stringContaining(`region ${region}`) },
      });
    }
    const { planes } = planesResponseSchema.parse((await call(directory.url, 'GET', '/api/v1/directory/planes', DIRECTORY_ADMIN)).json);
    // Health is public, so the plane shows as reachable; its counts cannot be read with a refused token.
    expect(planes.find((p) => p.region === 'eu')).toMatchObject({ state: 'degraded', stored: null, refused: null, devices: 0 });
    expect(planes.find((p) => p.region === 'cn')).toMatchObject({ state: 'degraded', stored: null, devices: 0 });
  });

  it('limits requests per token like the server does (429 RATE_LIMITED with Retry-After)', async () => {
    const limited = await startTestDirectory(join(root, 'limited'), [planeOf('eu', eu)], { http: { port: 0, rateLimit: { perToken: 2, windowMs: 60_000 } } });
    try {
      const lookup = () => fetch(`${limited.url}/api/v1/directory/devices/cm-nosuchdevice`, { headers: { authorization: `Bearer ${LOOKUP}` } });
      expect((await lookup()).status).toBe(404);
      expect((await lookup()).status).toBe(404);
      const refused = await lookup();
      expect(refused.status).toBe(429);
      expect(refused.headers.get('retry-after')).toMatch(/^\d+$/);
      expect(await refused.json()).toMatchObject({ statusCode: 429, code: 'RATE_LIMITED' });
    } finally {
      await limited.close();
    }
  });
});
