import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEVICE_AUTH_BATCH_MAX, deviceAuthBatchResponseSchema, provisionDeviceResponseSchema, type ProvisionDeviceResponse } from '../../../schema/api.ts';
import { serverConfigSchema } from '../../../server/config.ts';
import { startServer, type RunningServer } from '../../../server/server.ts';
import { callApi, expectApiError, wrongSecret } from './helpers.ts';

const logger = pino({ level: 'silent' });
const ADMIN = 'admin-token-0123456789abcdef';
const BROKER = 'broker-token-0123456789abcdef';
const BATCH = '/api/v1/broker/device-auth:batch';

/** The broker's batch login check against a real server (real HTTP, real SQLite stores). */
describe('server: POST /api/v1/broker/device-auth:batch', () => {
  let dataDir: string;
  let server: RunningServer;
  let limited: RunningServer;

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'brewtel-auth-batch-'));
    const config = (deviceAuthPerWindow: number) =>
      serverConfigSchema.parse({
        regions: ['eu', 'us'],
        dataDir,
        http: { port: 0, rateLimit: { windowMs: 60_000, deviceAuthPerWindow } },
        adminToken: ADMIN,
        brokerToken: BROKER,
        logLevel: 'silent',
      });
    server = await startServer(config(20_000), logger);
    // Another process on the same stores, with a device-auth window of five logins.
    limited = await startServer(config(5), logger);
  });
  afterAll(async () => {
    await server?.close();
    await limited?.close();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  const provision = async (region: 'eu' | 'us'): Promise<ProvisionDeviceResponse> => {
    const created = await callApi(server.httpUrl, 'POST', '/api/v1/devices', ADMIN, { region });
    expect(created.status).toBe(201);
    return provisionDeviceResponseSchema.parse(created.json);
  };
  const batch = (items: unknown[], token = BROKER, on = server) => callApi(on.httpUrl, 'POST', BATCH, token, { items });

  it('answers every item in request order: valid with its region, invalid alike for a wrong secret and an unknown device', async () => {
    const [eu, us] = [await provision('eu'), await provision('us')];
    const answer = await batch([
      { deviceId: eu.id, secret: eu.secret },
      { deviceId: eu.id, secret: wrongSecret(eu.secret) },
      { deviceId: 'cm-nobodyatall000', secret: eu.secret },
      { deviceId: us.id, secret: us.secret },
      { deviceId: us.id, secret: eu.secret },
    ]);
    expect(answer.status).toBe(200);
    expect(deviceAuthBatchResponseSchema.parse(answer.json)).toEqual({
      results: [
        { outcome: 'valid', deviceId: eu.id, region: 'eu' },
        { outcome: 'invalid' },
        { outcome: 'invalid' },
        { outcome: 'valid', deviceId: us.id, region: 'us' },
        { outcome: 'invalid' },
      ],
    });
    // Byte for byte the same answer for an unknown device as for a wrong secret: the shape tells nothing.
    const unknown = await batch([{ deviceId: 'cm-nobodyatall001', secret: 'x' }]);
    const wrong = await batch([{ deviceId: eu.id, secret: 'x' }]);
    expect(JSON.stringify(unknown)).toBe(JSON.stringify(wrong));
  });

  it('answers a batch of only unknown devices with 200 and one invalid per item', async () => {
    const items = Array.from({ length: 7 }, (_, i) => ({ deviceId: `cm-unknown${String(i).padStart(6, '0')}`, secret: `guess-${i}` }));
    const answer = await batch(items);
    expect(answer).toEqual({ status: 200, json: { results: Array(7).fill({ outcome: 'invalid' }) } });
  });

  it('refuses an empty batch, one over the maximum and a malformed item with 400, checking none', async () => {
    const device = await provision('eu');
    expectApiError(await batch([]), 400, 'VALIDATION_FAILED');
    const tooMany = Array.from({ length: DEVICE_AUTH_BATCH_MAX + 1 }, () => ({ deviceId: device.id, secret: device.secret }));
    expectApiError(await batch(tooMany), 400, 'VALIDATION_FAILED');
    expectApiError(
      await batch([
        { deviceId: device.id, secret: device.secret },
        { deviceId: device.id, secret: '' },
      ]),
      400,
      'VALIDATION_FAILED',
    );
    // The maximum itself is fine.
    const full = await batch(tooMany.slice(1));
    expect(full.status).toBe(200);
    expect(deviceAuthBatchResponseSchema.parse(full.json).results.every((r) => r.outcome === 'valid')).toBe(true);
  });

  it('is for the broker token only', async () => {
    const device = await provision('eu');
    const items = [{ deviceId: device.id, secret: device.secret }];
    expectApiError(await batch(items, ADMIN), 403, 'FORBIDDEN');
    expectApiError(await batch(items, 'not-a-token-at-all-0000'), 401, 'UNAUTHORIZED');
  });

  it('counts every item against the device-auth window, so batching lets no more logins through', async () => {
    const device = await provision('eu');
    const item = { deviceId: device.id, secret: device.secret };
    expect((await batch([item, item, item], BROKER, limited)).status).toBe(200);
    const over = await batch([item, item, item], BROKER, limited);
    expectApiError(over, 429, 'RATE_LIMITED');
  });
});
