import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import mqtt from 'mqtt';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorBodySchema, provisionDeviceResponseSchema } from '../../../schema/api.ts';
import { consentRecordSchema } from '../../../schema/consent.ts';
import { topics } from '../../../schema/topics.ts';
import { serverConfigSchema } from '../../../server/config.ts';
import { ConsentService } from '../../../server/consent/consent-service.ts';
import { mqttConsentPublisher } from '../../../server/consent/publisher.ts';
import { SecretHasher } from '../../../server/devices/credentials.ts';
import { DirectoryCache } from '../../../server/devices/directory-cache.ts';
import { openPublishConnection, type PublishConnection } from '../../../server/ingest/publish-connection.ts';
import { buildApp } from '../../../server/http/app.ts';
import { AuditLogs } from '../../../server/privacy/audit-logs.ts';
import { createPrivacy } from '../../../server/privacy/create-privacy.ts';
import type { PrivacyDeps } from '../../../server/privacy/privacy-deps.ts';
import { DeviceStates } from '../../../server/ingest/device-states.ts';
import { createIngest, type Ingest } from '../../../server/ingest/ingest.ts';
import { IngestStats } from '../../../server/ingest/stats.ts';
import { createMetrics } from '../../../server/metrics/metrics.ts';
import { openStores } from '../../../server/store/open-stores.ts';
import type { Stores } from '../../../server/store/types.ts';
import { startAedes } from './aedes-broker.ts';
import { eventOf } from './helpers.ts';
import { LiveFeed } from '../../../server/dashboard/live-feed.ts';

const logger = pino({ level: 'silent' });
const ADMIN = 'admin-token-0123456789abcdef';
const BROKER = 'broker-token-0123456789abcdef';
const admin = { authorization: `Bearer ${ADMIN}` };

let dataDir: string;
let broker: Awaited<ReturnType<typeof startAedes>>;
let stores: Stores;
let publisher: PublishConnection;
let app: FastifyInstance;
let ingest: Ingest;
let privacy: PrivacyDeps;

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'brewtel-http-'));
  broker = await startAedes();
  const config = serverConfigSchema.parse({
    regions: ['eu', 'us'],
    dataDir,
    mqtt: { url: broker.url, username: 'svc-ingest', password: 'unused-here', clientId: 'http-test' },
    adminToken: ADMIN,
    brokerToken: BROKER,
  });
  stores = await openStores({ regions: config.regions, dataDir, stores: {} }, logger);
  publisher = openPublishConnection(config.mqtt!, logger);
  const metrics = createMetrics();
  const directory = new DirectoryCache(stores.directory);
  const consent = new ConsentService(stores.regions, mqttConsentPublisher(publisher), 2_000, logger);
  privacy = createPrivacy(config, stores, directory, consent, AuditLogs.open(config, stores, logger));
  app = await buildApp(
    {
      config,
      stores,
      directory,
      deviceSecrets: new SecretHasher(randomBytes(32)),
      consent,
      metrics,
      deviceStates: new DeviceStates(),
      privacy,
      liveFeed: new LiveFeed(async (id) => (await directory.lookup(id))?.region ?? null, logger),
      grants: [
        { token: ADMIN, role: 'admin', subject: 'admin' },
        { token: BROKER, role: 'broker', subject: 'broker' },
      ],
      fleetControl: () => null,
      mqttConnected: () => publisher.connected,
      storeWritable: () => true,
    },
    logger,
  );
  ingest = createIngest({ config: config.ingest, stores, directory, consent, stats: new IngestStats(config.regions, metrics), metrics, logger });
});

afterAll(async () => {
  await ingest?.close();
  await app?.close();
  // Checkpoint writes of the audit log still under way would race the removal of the data folder.
  await privacy?.audit.settle();
  privacy?.ownerKeys.close();
  await publisher?.close();
  await stores?.close();
  await broker?.close();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

function expectErrorShape(response: { statusCode: number; json(): unknown }, statusCode: number, code: string): void {
  const body = response.json() as Record<string, unknown>;
  expect(response.statusCode).toBe(statusCode);
  expect(Object.keys(body).sort()).toEqual(['code', 'message', 'statusCode']);
  expect(errorBodySchema.parse(body)).toMatchObject({ statusCode, code });
  expect(JSON.stringify(body)).not.toMatch(/\bat .+:\d+:\d+/);
}

async function provision(region: string, consent?: unknown) {
  const response = await app.inject({ method: 'POST', url: '/api/v1/devices', headers: admin, payload: { region, ...(consent ? { consent } : {}) } });
  expect(response.statusCode).toBe(201);
  return provisionDeviceResponseSchema.parse(response.json());
}

describe('HTTP errors: one shape', () => {
  it('401 without a token, and with an unknown one', async () => {
    const missing = await app.inject({ method: 'GET', url: '/api/v1/devices' });
    expectErrorShape(missing, 401, 'UNAUTHORIZED');
    expect(missing.headers['www-authenticate']).toBe('Bearer');
    expectErrorShape(await app.inject({ method: 'GET', url: '/api/v1/devices', headers: { authorization: 'Bearer nope' } }), 401, 'UNAUTHORIZED');
  });

  it('403 for a valid token of the wrong role, both ways', async () => {
    expectErrorShape(await app.inject({ method: 'GET', url: '/api/v1/devices', headers: { authorization: `Bearer ${BROKER}` } }), 403, 'FORBIDDEN');
    const asAdmin = await app.inject({ method: 'POST', url: '/api/v1/broker/device-auth', headers: admin, payload: { deviceId: 'cm-x1y', secret: 's' } });
    expectErrorShape(asAdmin, 403, 'FORBIDDEN');
  });

  it('404 for an unknown route and an unknown device', async () => {
    expectErrorShape(await app.inject({ method: 'GET', url: '/nowhere' }), 404, 'NOT_FOUND');
    expectErrorShape(await app.inject({ method: 'GET', url: '/api/v1/devices/cm-aaaaaaaaaaaaaaaa', headers: admin }), 404, 'NOT_FOUND');
  });

  it('400 for invalid bodies, params and JSON', async () => {
    const post = (payload: string | object) =>
      app.inject({ method: 'POST', url: '/api/v1/devices', headers: { ...admin, 'content-type': 'application/json' }, payload });
    expectErrorShape(await post({ region: 'EU!' }), 400, 'VALIDATION_FAILED');
    expectErrorShape(await post({ region: 'eu', owner: 'Jane Doe' }), 400, 'VALIDATION_FAILED');
    expectErrorShape(await post('{"region":'), 400, 'BAD_REQUEST');
    expectErrorShape(await post({ region: 'cn' }), 400, 'UNKNOWN_REGION');
    expectErrorShape(await app.inject({ method: 'GET', url: '/api/v1/devices/NOT%20AN%20ID/events', headers: admin }), 400, 'VALIDATION_FAILED');
  });
});

describe('devices over HTTP (real SQLite stores)', () => {
  it('provisions a device with privacy-by-default consent and lists it', async () => {
    const device = await provision('us');
    expect(device.id).toMatch(/^cm-[a-z2-7]{16}$/);
    expect(device.consent).toMatchObject({
      deviceId: device.id,
      version: 1,
      categories: { usage: false, location: 'none', payment: false, diagnostics: false },
    });
    const list = await app.inject({ method: 'GET', url: '/api/v1/devices', headers: admin });
    expect(list.json().devices).toContainEqual(expect.objectContaining({ id: device.id, region: 'us' }));
    const one = await app.inject({ method: 'GET', url: `/api/v1/devices/${device.id}`, headers: admin });
    expect(one.json()).toMatchObject({ id: device.id, region: 'us', consent: { version: 1 }, state: null });
  });

  it('authenticates a device for the broker by id and secret only', async () => {
    const device = await provision('eu');
    const ask = (secret: string) =>
      app.inject({
        method: 'POST',
        url: '/api/v1/broker/device-auth',
        headers: { authorization: `Bearer ${BROKER}` },
        payload: { deviceId: device.id, secret },
      });
    const ok = await ask(device.secret);
    expect(ok.statusCode).toBe(200);
    expect(ok.json()).toEqual({ deviceId: device.id, region: 'eu' });
    expectErrorShape(await ask('wrong-secret'), 401, 'DEVICE_AUTH_FAILED');
  });

  it('records a consent change, publishes it retained, and serves events from the home store only', async () => {
    const device = await provision('eu', { usage: true, location: 'coarse', payment: false, diagnostics: false });
    const put = await app.inject({
      method: 'PUT',
      url: `/api/v1/devices/${device.id}/consent`,
      headers: admin,
      payload: { usage: true, location: 'none', payment: false, diagnostics: true },
    });
    expect(put.statusCode).toBe(200);
    expect(consentRecordSchema.parse(put.json())).toMatchObject({ version: 2, categories: { diagnostics: true } });

    const retained = await mqtt.connectAsync(broker.url, { clientId: 'http-test-reader' });
    try {
      const received = new Promise<Buffer>((resolve) => retained.once('message', (_t, payload) => resolve(payload)));
      await retained.subscribeAsync(topics.consent(device.id), { qos: 1 });
      expect(JSON.parse((await received).toString())).toMatchObject({ deviceId: device.id, version: 2 });
    } finally {
      await retained.endAsync();
    }

    const event = eventOf('status', device.id);
    const outcome = await ingest.handle({ topic: topics.event(device.id, 'status'), payload: Buffer.from(JSON.stringify(event)), receivedAt: new Date() });
    expect(outcome).toEqual({ status: 'stored', region: 'eu', eventId: event.id });
    const events = await app.inject({ method: 'GET', url: `/api/v1/devices/${device.id}/events?limit=10`, headers: admin });
    expect(events.statusCode).toBe(200);
    expect(events.json()).toMatchObject({ deviceId: device.id, region: 'eu', events: [{ id: event.id, kind: 'status', consentVersion: 2, body: event.body }] });
    expect(await stores.regions.get('us')!.listEvents(device.id, { limit: 10 })).toEqual([]);

    const regions = await app.inject({ method: 'GET', url: '/api/v1/regions', headers: admin });
    expect(regions.json().regions).toContainEqual({ region: 'eu', stored: 1, refused: 0, eventsByKind: { status: 1 }, refusedByReason: {} });
  });
});

describe('operational routes', () => {
  it('reports health per store, directory and broker connection', async () => {
    const health = await app.inject({ method: 'GET', url: '/health' });
    expect(health.statusCode).toBe(200);
    expect(health.json()).toEqual({
      status: 'ok',
      stores: [
        { region: 'eu', state: 'up' },
        { region: 'us', state: 'up' },
      ],
      directory: 'up',
      mqtt: 'connected',
    });
  });

  it('serves Prometheus metrics from its own registry', async () => {
    const metrics = await app.inject({ method: 'GET', url: '/metrics' });
    expect(metrics.statusCode).toBe(200);
    expect(metrics.headers['content-type']).toMatch(/^text\/plain/);
    expect(metrics.body).toContain('brewtel_http_requests_total');
    expect(metrics.body).toContain('brewtel_ingest_stored_total{region="eu"} 1');
  });

  it('serves the OpenAPI document and the docs UI', async () => {
    const doc = await app.inject({ method: 'GET', url: '/openapi.json' });
    expect(doc.statusCode).toBe(200);
    expect(Object.keys(doc.json().paths)).toEqual(expect.arrayContaining(['/api/v1/devices', '/api/v1/devices/{id}/events', '/health']));
    const ui = await app.inject({ method: 'GET', url: '/docs/' });
    expect(ui.statusCode).toBe(200);
    expect(ui.body).toContain('swagger');
  });
});
