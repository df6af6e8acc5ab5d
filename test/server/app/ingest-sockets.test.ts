import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { provisionDeviceResponseSchema, type ProvisionDeviceResponse } from '../../../schema/api.ts';
import { consentRecordSchema } from '../../../schema/consent.ts';
import { topics } from '../../../schema/topics.ts';
import { serverConfigSchema } from '../../../server/config.ts';
import { startServer, type RunningServer } from '../../../server/server.ts';
import { openStores } from '../../../server/store/open-stores.ts';
import { startAedes } from './aedes-broker.ts';
import { eventOf, eventually } from './helpers.ts';

const logger = pino({ level: 'silent' });
const ADMIN = 'admin-token-0123456789abcdef';
const REGIONS = ['eu', 'us', 'cn'];

let dataDir: string;
let broker: Awaited<ReturnType<typeof startAedes>>;
let server: RunningServer | undefined;
const clients: MqttClient[] = [];

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'brewtel-ingest-'));
  broker = await startAedes();
  server = await startServer(
    serverConfigSchema.parse({
      regions: REGIONS,
      dataDir,
      http: { port: 0 },
      mqtt: { url: broker.url, username: 'svc-ingest', password: 'unused-by-plain-aedes' },
      adminToken: ADMIN,
      brokerToken: 'broker-token-0123456789abcdef',
      ingest: { retryInitialMs: 10, drainTimeoutMs: 1_000 },
    }),
    logger,
  );
  await server.whenIngestReady();
});

afterAll(async () => {
  await Promise.all(clients.map((c) => c.endAsync(true)));
  await server?.close();
  await broker?.close();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

async function api(path: string, init: RequestInit = {}): Promise<Response> {
  return fetch(`${server!.httpUrl}${path}`, {
    ...init,
    headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json', ...init.headers },
  });
}

async function provision(region: string, consent: object): Promise<ProvisionDeviceResponse> {
  const response = await api('/api/v1/devices', { method: 'POST', body: JSON.stringify({ region, consent }) });
  expect(response.status).toBe(201);
  return provisionDeviceResponseSchema.parse(await response.json());
}

async function connectAs(deviceId: string, secret = 'x'): Promise<MqttClient> {
  const client = await mqtt.connectAsync(broker.url, { clientId: deviceId, username: deviceId, password: secret });
  clients.push(client);
  return client;
}

describe('ingest over real sockets (aedes + startServer + SQLite)', () => {
  it('stores each event once in its home region only, and refuses the rest with reasons', async () => {
    const eu = await provision('eu', { usage: true, location: 'none', payment: false, diagnostics: false });
    const us = await provision('us', { usage: true, location: 'none', payment: false, diagnostics: true });
    const euClient = await connectAs(eu.id, eu.secret);
    const usClient = await connectAs(us.id, us.secret);
    const strangerId = 'cm-zzzzzzzzzzzzzzzz';
    const stranger = await connectAs(strangerId);

    const at = new Date(Date.now() + 1_000);
    const euEvents = [1, 2, 3].map((seq) => eventOf('brew', eu.id, at, seq));
    const usEvents = [eventOf('brew', us.id, at, 1), eventOf('status', us.id, at, 2), eventOf('fault', us.id, at, 3)];
    const send = (client: MqttClient, topic: string, payload: unknown, dup = false) =>
      client.publishAsync(topic, typeof payload === 'string' ? payload : JSON.stringify(payload), { qos: 1, dup });

    for (const event of euEvents) await send(euClient, topics.event(eu.id, 'brew'), event);
    for (const event of usEvents) await send(usClient, topics.event(us.id, event.kind), event);
    await send(euClient, topics.event(eu.id, 'brew'), euEvents[0], true);
    await send(euClient, topics.event(eu.id, 'brew'), '{"v":1, not json');
    await send(usClient, topics.event(us.id, 'location'), eventOf('location', us.id, at, 4));
    await send(stranger, topics.event(strangerId, 'brew'), eventOf('brew', strangerId, at));
    await send(euClient, topics.state(eu.id), 'online');

    await eventually(() => {
      expect(server!.stats()).toEqual({
        stored: { eu: 3, us: 3, cn: 0 },
        refused: { eu: 1, us: 1, cn: 0, unrouted: 1 },
        refusedByReason: { malformed_json: 1, not_consented: 1, unknown_device: 1 },
        quarantineSuppressed: {},
      });
    });

    await eventually(async () => {
      expect(await (await api(`/api/v1/devices/${eu.id}`)).json()).toMatchObject({ region: 'eu', state: 'online' });
    });

    const regions = await (await api('/api/v1/regions')).json();
    expect(regions).toMatchObject({
      regions: [
        { region: 'eu', stored: 3, refused: 1 },
        { region: 'us', stored: 3, refused: 1 },
        { region: 'cn', stored: 0, refused: 0 },
      ],
      unrouted: { refused: 1 },
    });

    const reader = await connectAs('consent-reader');
    const retained = new Promise<Buffer>((resolve) => reader.once('message', (_topic, payload) => resolve(payload)));
    await reader.subscribeAsync(topics.consent(eu.id), { qos: 1 });
    expect(consentRecordSchema.parse(JSON.parse((await retained).toString()))).toEqual(eu.consent);

    await server!.close();
    server = undefined;
    const stores = await openStores({ regions: REGIONS, dataDir, stores: {} }, logger);
    try {
      const ids = async (region: string, deviceId: string) =>
        (await stores.regions.get(region)!.listEvents(deviceId, { limit: 100 })).map((row) => row.id).sort();
      expect(await ids('eu', eu.id)).toEqual(euEvents.map((e) => e.id).sort());
      expect(await ids('us', us.id)).toEqual(usEvents.map((e) => e.id).sort());
      for (const region of ['us', 'cn']) expect(await ids(region, eu.id)).toEqual([]);
      for (const region of ['eu', 'cn']) expect(await ids(region, us.id)).toEqual([]);
      expect(await stores.directory.countRefusals()).toBe(1);
    } finally {
      await stores.close();
    }
  });
});
