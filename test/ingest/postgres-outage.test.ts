import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import pg from 'pg';
import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { topics } from '../../schema/topics.ts';
import { serverConfigSchema } from '../../server/config.ts';
import { startServer, type RunningServer } from '../../server/server.ts';
import { startAedes } from '../server/app/aedes-broker.ts';
import { eventOf } from '../server/app/helpers.ts';
import { createTempDatabases, PG_ADMIN_URL, postgresReachable } from '../server/store/pg-temp-databases.ts';
import { waitUntil } from '../support/wait.ts';
import { provisionDirect } from './support.ts';

const REGIONS = ['eu', 'us'];
const reachable = await postgresReachable();
if (!reachable && process.env.CI === 'true') throw new Error('PostgreSQL on 127.0.0.1:5432 is required under CI');

let dataDir: string | undefined;
let broker: Awaited<ReturnType<typeof startAedes>> | undefined;
let server: RunningServer | undefined;
let publisher: MqttClient | undefined;
let drop: (() => Promise<void>) | undefined;

afterAll(async () => {
  await publisher?.endAsync(true);
  await server?.close();
  await broker?.close();
  await drop?.();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

describe.skipIf(!reachable)('one region on a PostgreSQL database that disappears', () => {
  it('keeps the other region flowing, writes nothing elsewhere and reports that store down', async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'brewtel-pg-outage-'));
    broker = await startAedes();
    const temp = await createTempDatabases(['directory', ...REGIONS]);
    drop = temp.drop;
    const stores = Object.fromEntries(REGIONS.map((r) => [r, temp.urls[r]!]));
    const devices = await provisionDirect(dataDir, REGIONS, 2, { stores, directoryUrl: temp.urls.directory! });
    const of = (region: string) => [...devices].filter(([, r]) => r === region).map(([id]) => id);
    server = await startServer(
      serverConfigSchema.parse({
        regions: REGIONS,
        dataDir,
        stores,
        directoryUrl: temp.urls.directory,
        http: { port: 0 },
        mqtt: { url: broker.url, username: 'svc-ingest', password: 'unused-by-plain-aedes', clientId: 'svc-ingest-pg-outage' },
        adminToken: 'admin-token-0123456789abcdef',
        brokerToken: 'broker-token-0123456789abcdef',
        ingest: { retryInitialMs: 20, retryMaxMs: 200, regionInFlightMax: 20, drainTimeoutMs: 500 },
        healthTimeoutMs: 500,
        logLevel: 'silent',
      }),
      pino({ level: 'silent' }),
    );
    await server.whenIngestReady();
    publisher = await mqtt.connectAsync(broker.url, { clientId: 'pg-outage-publisher', clean: true });
    const publish = async (region: string, count: number): Promise<string[]> => {
      const events = Array.from({ length: count }, (_, i) => eventOf('brew', of(region)[i % 2]!, new Date(), i + 1));
      await Promise.all(events.map((e) => publisher!.publishAsync(topics.event(e.deviceId, 'brew'), JSON.stringify(e), { qos: 1 })));
      return events.map((e) => e.id);
    };
    const warm = [...(await publish('eu', 2)), ...(await publish('us', 2))];
    await waitUntil('warm-up stored', () => server!.stats().stored.eu === 2 && server!.stats().stored.us === 2, 10_000);

    const usDatabase = new URL(temp.urls.us!).pathname.slice(1);
    const admin = new pg.Client({ connectionString: PG_ADMIN_URL });
    await admin.connect();
    await admin.query(`DROP DATABASE "${usDatabase}" WITH (FORCE)`);
    await admin.end();

    await publish('us', 100);
    const euIds = await publish('eu', 100);
    await waitUntil('eu flowing', () => server!.stats().stored.eu === 102, 20_000);
    expect(server.stats().stored.us).toBe(2);
    const health = await fetch(`${server.httpUrl}/health`);
    expect(health.status).toBe(503);
    expect(((await health.json()) as { stores: unknown }).stores).toEqual([
      { region: 'eu', state: 'up' },
      { region: 'us', state: 'down' },
    ]);

    const eu = new pg.Client({ connectionString: temp.urls.eu });
    await eu.connect();
    const { rows } = await eu.query<{ id: string }>('SELECT id FROM "Event"');
    await eu.end();
    expect(new Set(rows.map((r) => r.id))).toEqual(new Set([...warm.slice(0, 2), ...euIds]));
  }, 60_000);
});
