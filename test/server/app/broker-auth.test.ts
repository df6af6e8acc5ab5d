import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { provisionDeviceResponseSchema, type ProvisionDeviceResponse } from '../../../schema/api.ts';
import { serverConfigSchema, type ServerConfigInput } from '../../../server/config.ts';
import { startServer, type RunningServer } from '../../../server/server.ts';
import { openStores } from '../../../server/store/open-stores.ts';
import type { Stores } from '../../../server/store/types.ts';
import { callApi, expectApiError, legacyScryptHash, wrongSecret } from './helpers.ts';

const logger = pino({ level: 'silent' });
const ADMIN = 'admin-token-0123456789abcdef';
const BROKER = 'broker-token-0123456789abcdef';

/**
 * The server side of device login (real HTTP, real SQLite stores, no broker): the secret and
 * certificate checks, what an erasure does to them in this process and in another one sharing the
 * stores, the bound on slow hashes, and commands to an erased device.
 */
describe('server: device login checks and erased devices', () => {
  let dataDir: string;
  let a: RunningServer;
  let b: RunningServer;
  // The same directory, opened as a third process would, to read and plant stored hashes.
  let stores: Stores;
  const config = (overrides: Partial<ServerConfigInput> = {}) =>
    serverConfigSchema.parse({
      regions: ['eu', 'us'],
      dataDir,
      http: { port: 0 },
      adminToken: ADMIN,
      brokerToken: BROKER,
      logLevel: 'silent',
      privacy: { peerRefreshMs: 60_000 },
      ...overrides,
    });

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'brewtel-broker-auth-'));
    a = await startServer(config(), logger);
    // Another server process sharing the same stores, which would learn of A's erasures only at its
    // next peer refresh (a minute away here).
    b = await startServer(config({ brokerAuth: { maxConcurrent: 1, maxQueued: 0 } }), logger);
    stores = await openStores({ regions: ['eu', 'us'], dataDir, stores: {} }, logger);
  });
  afterAll(async () => {
    await stores?.close();
    await a?.close();
    await b?.close();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  const call = (server: RunningServer, method: string, path: string, token: string, body?: unknown) => callApi(server.httpUrl, method, path, token, body);
  const provision = async (): Promise<ProvisionDeviceResponse> => {
    const created = await call(a, 'POST', '/api/v1/devices', ADMIN, { region: 'eu' });
    expect(created.status).toBe(201);
    return provisionDeviceResponseSchema.parse(created.json);
  };
  const secretCheck = (server: RunningServer, deviceId: string, secret: string) =>
    call(server, 'POST', '/api/v1/broker/device-auth', BROKER, { deviceId, secret });
  const certificateCheck = (server: RunningServer, deviceId: string) => call(server, 'POST', '/api/v1/broker/device-certificate', BROKER, { deviceId });

  it('keeps device secrets as a keyed hash under a key in an owner-only file outside the stores', async () => {
    const device = await provision();
    const stored = (await stores.directory.lookup(device.id))?.secretHash;
    expect(stored).toMatch(/^hmac-sha256\$[\w-]{8}\$[\w-]{43}$/);
    expect(stored).not.toContain(device.secret);
    const key = await stat(join(dataDir, 'device-secrets.key'));
    expect(key.mode & 0o777).toBe(0o600);
    // Both processes read the same key, so a device provisioned by A logs in through B.
    expect(await secretCheck(b, device.id, device.secret)).toEqual({ status: 200, json: { deviceId: device.id, region: 'eu' } });
    expectApiError(await secretCheck(a, device.id, wrongSecret(device.secret)), 401, 'DEVICE_AUTH_FAILED');
    expectApiError(await secretCheck(a, 'cm-nobodyatall000', device.secret), 401, 'DEVICE_AUTH_FAILED');
  });

  it('lets a device stored under the old scrypt hash log in, rewrites its entry to the keyed hash, and lets it in again', async () => {
    const device = await provision();
    const legacy = legacyScryptHash(device.secret);
    expect(await stores.directory.replaceSecretHash(device.id, (await stores.directory.lookup(device.id))!.secretHash, legacy)).toBe(true);
    expectApiError(await secretCheck(a, device.id, 'not-the-secret'), 401, 'DEVICE_AUTH_FAILED');
    expect((await stores.directory.lookup(device.id))?.secretHash).toBe(legacy);
    expect((await secretCheck(a, device.id, device.secret)).status).toBe(200);
    const rewritten = (await stores.directory.lookup(device.id))?.secretHash;
    expect(rewritten).toMatch(/^hmac-sha256\$/);
    expect((await secretCheck(a, device.id, device.secret)).status).toBe(200);
    expect((await secretCheck(b, device.id, device.secret)).status).toBe(200);
    expect((await stores.directory.lookup(device.id))?.secretHash).toBe(rewritten);
  });

  it('never undoes a revocation when rewriting a legacy hash', async () => {
    const device = await provision();
    const legacy = legacyScryptHash(device.secret);
    await stores.directory.replaceSecretHash(device.id, (await stores.directory.lookup(device.id))!.secretHash, legacy);
    await stores.directory.revoke(device.id);
    expect(await stores.directory.replaceSecretHash(device.id, legacy, 'hmac-sha256$whatever')).toBe(false);
    expect((await stores.directory.lookup(device.id))?.secretHash).toBe('revoked');
  });

  it('answers a certificate check for a device that exists, and 401 for one that does not', async () => {
    const device = await provision();
    expect(await certificateCheck(a, device.id)).toEqual({ status: 200, json: { deviceId: device.id, region: 'eu' } });
    expectApiError(await certificateCheck(a, 'cm-nobodyatall000'), 401, 'DEVICE_AUTH_FAILED');
    // The broker role only.
    expectApiError(await call(a, 'POST', '/api/v1/broker/device-certificate', ADMIN, { deviceId: device.id }), 403, 'FORBIDDEN');
  });

  it("refuses an erased device's secret and certificate at once, here and in another server process on the same stores", async () => {
    const device = await provision();
    // Both processes have read (and cached) the device before the erasure.
    for (const server of [a, b]) {
      expect((await secretCheck(server, device.id, device.secret)).status).toBe(200);
      expect((await certificateCheck(server, device.id)).status).toBe(200);
      expect((await call(server, 'GET', `/api/v1/devices/${device.id}`, ADMIN)).status).toBe(200);
    }
    expect((await call(a, 'DELETE', `/api/v1/devices/${device.id}`, ADMIN)).status).toBe(200);
    for (const server of [a, b]) {
      expectApiError(await secretCheck(server, device.id, device.secret), 401, 'DEVICE_AUTH_FAILED');
      expectApiError(await certificateCheck(server, device.id), 401, 'DEVICE_AUTH_FAILED');
    }
  });

  it('refuses a command to an erased device with 410 DEVICE_ERASED', async () => {
    const device = await provision();
    expect((await call(a, 'DELETE', `/api/v1/devices/${device.id}`, ADMIN)).status).toBe(200);
    expectApiError(await call(a, 'POST', `/api/v1/devices/${device.id}/commands/reboot`, ADMIN), 410, 'DEVICE_ERASED');
    expectApiError(await call(a, 'POST', `/api/v1/devices/${device.id}/commands/wipe-local-data`, ADMIN), 410, 'DEVICE_ERASED');
    // A device that never existed is still a 404.
    expectApiError(await call(a, 'POST', '/api/v1/devices/cm-nobodyatall000/commands/reboot', ADMIN), 404, 'NOT_FOUND');
  });

  /** A device whose entry is still the old scrypt form, so each check of it holds its slot for a slow hash. */
  const legacyDevice = async (): Promise<ProvisionDeviceResponse> => {
    const device = await provision();
    await stores.directory.replaceSecretHash(device.id, (await stores.directory.lookup(device.id))!.secretHash, legacyScryptHash(device.secret));
    return device;
  };

  it('runs a bounded number of secret checks at once and answers 503 AUTH_BUSY beyond them', async () => {
    const device = await legacyDevice();
    // B runs one check at a time and queues none: of many at once, most are refused without a hash.
    const answers = await Promise.all(Array.from({ length: 12 }, (_, i) => secretCheck(b, device.id, `wrong-${i}`)));
    const busy = answers.filter((x) => x.status === 503);
    expect(busy.length).toBeGreaterThan(0);
    for (const answer of busy) expectApiError(answer, 503, 'AUTH_BUSY');
    expect(answers.every((x) => [401, 503].includes(x.status))).toBe(true);
    // Once the flood is over, checks run again.
    expect((await secretCheck(b, device.id, device.secret)).status).toBe(200);
    const metrics = await (await fetch(`${b.httpUrl}/metrics`, { headers: { authorization: `Bearer ${ADMIN}` } })).text();
    expect(metrics).toMatch(new RegExp(`^brewtel_broker_auth_busy_total ${busy.length}$`, 'm'));
  });

  it('bounds slow scrypt checks on their own, without holding up devices under the keyed hash', async () => {
    const c = await startServer(config({ brokerAuth: { scryptMaxConcurrent: 1, scryptMaxQueued: 0 } }), logger);
    try {
      const legacy = await legacyDevice();
      const keyed = await provision();
      const [slow, fast] = await Promise.all([
        Promise.all(Array.from({ length: 8 }, (_, i) => secretCheck(c, legacy.id, `wrong-${i}`))),
        Promise.all(Array.from({ length: 8 }, () => secretCheck(c, keyed.id, keyed.secret))),
      ]);
      expect(slow.filter((x) => x.status === 503).length).toBeGreaterThan(0);
      expect(slow.every((x) => [401, 503].includes(x.status))).toBe(true);
      expect(fast.map((x) => x.status)).toEqual(Array(8).fill(200));
    } finally {
      await c.close();
    }
  });
});
