import Database from 'better-sqlite3';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { topics } from '../../schema/topics.ts';
import { serverConfigSchema } from '../../server/config.ts';
import { startServer, type RunningServer } from '../../server/server.ts';
import { startAedes } from '../server/app/aedes-broker.ts';
import { eventOf } from '../server/app/helpers.ts';
import { readRegionStore } from '../support/sqlite-stores.ts';
import { waitUntil } from '../support/wait.ts';
import { provisionDirect } from './support.ts';

const REGIONS = ['eu', 'us'];
const PER_REGION = 300;
const BOUND = 40;

let dataDir: string;
let broker: Awaited<ReturnType<typeof startAedes>>;
let server: RunningServer | undefined;
let publisher: MqttClient | undefined;
let locker: Database.Database | undefined;

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'brewtel-backpressure-'));
  broker = await startAedes();
});

afterAll(async () => {
  locker?.close();
  await publisher?.endAsync(true);
  await server?.close();
  await broker?.close();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

async function health(): Promise<{ status: number; stores: { region: string; state: string }[] }> {
  const response = await fetch(`${server!.httpUrl}/health`);
  return { status: response.status, stores: ((await response.json()) as { stores: { region: string; state: string }[] }).stores };
}

describe('one region whose store cannot take writes', () => {
  it('makes only that region wait (bounded), keeps the others flowing, reports it down, then catches up', async () => {
    const devices = await provisionDirect(dataDir, REGIONS, 3);
    const of = (region: string) => [...devices].filter(([, r]) => r === region).map(([id]) => id);
    server = await startServer(
      serverConfigSchema.parse({
        regions: REGIONS,
        dataDir,
        http: { port: 0 },
        mqtt: { url: broker.url, username: 'svc-ingest', password: 'unused-by-plain-aedes', clientId: 'svc-ingest-backpressure', reconnectInitialMs: 20 },
        adminToken: 'admin-token-0123456789abcdef',
        brokerToken: 'broker-token-0123456789abcdef',
        ingest: { retryInitialMs: 20, retryMaxMs: 200, regionInFlightMax: BOUND, drainTimeoutMs: 1_000 },
        logLevel: 'silent',
      }),
      pino({ level: 'silent' }),
    );
    await server.whenIngestReady();
    publisher = await mqtt.connectAsync(broker.url, { clientId: 'backpressure-publisher', clean: true });
    const publish = async (region: string, count: number): Promise<string[]> => {
      const ids = of(region);
      const events = Array.from({ length: count }, (_, i) => eventOf('brew', ids[i % ids.length]!, new Date(), i + 1));
      await Promise.all(events.map((e) => publisher!.publishAsync(topics.event(e.deviceId, 'brew'), JSON.stringify(e), { qos: 1 })));
      return events.map((e) => e.id);
    };

    // Consent ledgers get cached first, so what follows depends on writes alone.
    const warm = [...(await publish('eu', 3)), ...(await publish('us', 3))];
    await waitUntil('warm-up stored', () => server!.stats().stored.us === 3 && server!.stats().stored.eu === 3, 10_000);

    // Another connection holds us.db's write lock: every write the server tries there fails.
    locker = new Database(join(dataDir, 'us.db'));
    locker.exec('BEGIN IMMEDIATE');
    const usIds = await publish('us', PER_REGION);
    const euIds = await publish('eu', PER_REGION);
    await waitUntil('eu flowing past the stuck region', () => server!.stats().stored.eu === 3 + PER_REGION, 20_000);
    expect(server.stats().stored.us).toBe(3);
    await waitUntil('health reports us down', async () => (await health()).stores.find((s) => s.region === 'us')?.state === 'down', 10_000);
    expect(await health()).toEqual({
      status: 503,
      stores: [
        { region: 'eu', state: 'up' },
        { region: 'us', state: 'down' },
      ],
    });

    locker.exec('ROLLBACK');
    locker.close();
    locker = undefined;
    await waitUntil('us caught up, turned-away messages redelivered', () => server!.stats().stored.us === 3 + PER_REGION, 30_000);
    await waitUntil('health back up', async () => (await health()).status === 200, 10_000);

    await server.close();
    server = undefined;
    const eu = readRegionStore(dataDir, 'eu').events;
    const us = readRegionStore(dataDir, 'us').events;
    expect(new Set(us.map((e) => e.id))).toEqual(new Set([...warm.slice(3), ...usIds]));
    expect(new Set(eu.map((e) => e.id))).toEqual(new Set([...warm.slice(0, 3), ...euIds]));
    expect(us.length + eu.length).toBe(6 + 2 * PER_REGION);
  }, 90_000);
});
