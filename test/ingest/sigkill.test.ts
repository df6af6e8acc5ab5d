import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { topics } from '../../schema/topics.ts';
import { startAedes } from '../server/app/aedes-broker.ts';
import { eventOf } from '../server/app/helpers.ts';
import { createTempDatabases, postgresReachable } from '../server/store/pg-temp-databases.ts';
import { readRegionStore } from '../support/sqlite-stores.ts';
import { waitUntil } from '../support/wait.ts';
import { provisionDirect, spawnServer, storedTotal, type ServerProcess } from './support.ts';

const REGIONS = ['eu', 'us', 'cn'];
/** The publisher stops at the kill; this only bounds it should the kill never come. */
const PUBLISH_CAP = 50_000;
const WINDOW = 100;
const pgReachable = await postgresReachable();
if (!pgReachable && process.env.CI === 'true') throw new Error('PostgreSQL on 127.0.0.1:5432 is required under CI');

/** Where the stores of one run live, how the server is pointed at them, and how to read them back directly. */
interface StoreSetup {
  serverArgs: string[];
  urls: { stores?: Record<string, string>; directoryUrl?: string };
  storedIds(): Promise<string[]>;
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function sqliteSetup(dataDir: string): Promise<StoreSetup> {
  return { serverArgs: [], urls: {}, storedIds: async () => REGIONS.flatMap((region) => readRegionStore(dataDir, region).events.map((e) => e.id)) };
}

async function postgresSetup(): Promise<StoreSetup> {
  const temp = await createTempDatabases(['directory', ...REGIONS]);
  cleanups.push(temp.drop);
  const stores = Object.fromEntries(REGIONS.map((r) => [r, temp.urls[r]!]));
  return {
    serverArgs: [...REGIONS.flatMap((r) => ['--store', `${r}=${stores[r]}`]), '--directory-url', temp.urls.directory!],
    urls: { stores, directoryUrl: temp.urls.directory! },
    async storedIds() {
      const ids: string[] = [];
      for (const region of REGIONS) {
        const client = new pg.Client({ connectionString: stores[region] });
        await client.connect();
        try {
          ids.push(...(await client.query<{ id: string }>('SELECT id FROM "Event"')).rows.map((r) => r.id));
        } finally {
          await client.end();
        }
      }
      return ids;
    },
  };
}

async function killMidStream(setupStores: (dataDir: string) => Promise<StoreSetup>): Promise<void> {
  const dataDir = await mkdtemp(join(tmpdir(), 'brewtel-sigkill-'));
  cleanups.push(() => rm(dataDir, { recursive: true, force: true }));
  const broker = await startAedes();
  cleanups.push(() => broker.close());
  const setup = await setupStores(dataDir);
  const devices = [...(await provisionDirect(dataDir, REGIONS, 4, setup.urls)).keys()];
  // The broker lives in this process, so it keeps the ingest session and its queue across the kill.
  const args = [
    '--data-dir',
    dataDir,
    '--regions',
    REGIONS.join(','),
    '--mqtt-url',
    broker.url,
    ...setup.serverArgs,
    '--mqtt-username',
    'svc-ingest',
    '--mqtt-password',
    'unused-by-plain-aedes',
    '--mqtt-client-id',
    'svc-ingest-sigkill',
  ];
  const servers: ServerProcess[] = [];
  cleanups.push(async () => {
    for (const server of servers) await server.kill();
  });
  const first = await spawnServer(args);
  servers.push(first);

  const publisher: MqttClient = await mqtt.connectAsync(broker.url, { clientId: 'sigkill-publisher', clean: true });
  cleanups.push(() => publisher.endAsync(true));
  // The publisher keeps going until the server is killed, so the kill lands mid-stream however fast
  // ingest is; then it stops sending and waits for the broker's acks of what it sent.
  const acknowledged: string[] = [];
  let sent = 0;
  let stopAt = PUBLISH_CAP;
  let stopped: () => void = () => undefined;
  const publishing = new Promise<void>((resolve, reject) => {
    stopped = () => {
      stopAt = sent;
      if (acknowledged.length === sent) resolve();
    };
    const next = (): void => {
      if (sent >= stopAt) return;
      const seq = ++sent;
      const event = eventOf('brew', devices[seq % devices.length]!, new Date(), seq);
      publisher.publish(topics.event(event.deviceId, 'brew'), JSON.stringify(event), { qos: 1 }, (err) => {
        if (err) return reject(err);
        acknowledged.push(event.id);
        if (acknowledged.length === stopAt) resolve();
        else next();
      });
    };
    for (let i = 0; i < WINDOW; i++) next();
  });

  await waitUntil('some events stored before the kill', async () => (await storedTotal(first.httpUrl)) >= 300, 30_000);
  await first.kill();
  stopped();
  await publishing;
  // Mid-stream: the publisher was still sending when the server died.
  expect(sent).toBeLessThan(PUBLISH_CAP);

  const second = await spawnServer(args);
  servers.push(second);
  await waitUntil('every acknowledged event stored', async () => (await storedTotal(second.httpUrl)) >= acknowledged.length, 30_000);
  await second.stop();
  expect(second.stderr()).not.toMatch(/"level":50/);

  const stored = await setup.storedIds();
  expect(stored.length).toBe(acknowledged.length);
  expect(new Set(stored)).toEqual(new Set(acknowledged));
}

describe('a server killed with SIGKILL mid-stream', () => {
  it('loses no acknowledged event and stores none twice after a restart (SQLite stores)', () => killMidStream(sqliteSetup), 90_000);

  it.skipIf(!pgReachable)(
    'loses no acknowledged event and stores none twice after a restart (PostgreSQL stores)',
    () => killMidStream(() => postgresSetup()),
    90_000,
  );
});
