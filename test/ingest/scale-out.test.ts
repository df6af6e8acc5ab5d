import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { topics } from '../../schema/topics.ts';
import { eventOf } from '../server/app/helpers.ts';
import { createTempDatabases, postgresReachable } from '../server/store/pg-temp-databases.ts';
import { waitUntil } from '../support/wait.ts';
import { metricValue, provisionDirect, spawnServer, type ServerProcess } from './support.ts';

const MOSQUITTO = 'mqtt://127.0.0.1:1883';
const REGIONS = ['eu', 'us'];
const EVENTS = 600;

function mosquittoReachable(): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port: 1883 }, () => {
      socket.destroy();
      resolve(true);
    });
    socket.on('error', () => resolve(false));
  });
}

const available = (await mosquittoReachable()) && (await postgresReachable());
if (!available && process.env.CI === 'true') throw new Error('the scale-out test needs Mosquitto on 127.0.0.1:1883 and PostgreSQL on 127.0.0.1:5432 under CI');

const run = randomBytes(4).toString('hex');
const clientIds = [`svc-scale-${run}-a`, `svc-scale-${run}-b`];
const servers: ServerProcess[] = [];
let dataDir: string | undefined;
let dropDatabases: (() => Promise<void>) | undefined;

afterAll(async () => {
  for (const server of servers) await server.stop();
  // Mosquitto is shared: end the persistent sessions this run created.
  if (available) {
    for (const clientId of clientIds) {
      const c = await mqtt.connectAsync(MOSQUITTO, { clientId, clean: true, username: 'svc-ingest', password: 'unused' }).catch(() => null);
      await c?.endAsync();
    }
  }
  await dropDatabases?.();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

describe.skipIf(!available)('two server processes sharing ingest through a Mosquitto shared subscription', () => {
  it('split the events between them, store each once and lose none', async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'brewtel-scale-'));
    const { urls, drop } = await createTempDatabases(['directory', ...REGIONS]);
    dropDatabases = drop;
    const stores = Object.fromEntries(REGIONS.map((r) => [r, urls[r]!]));
    const devices = [...(await provisionDirect(dataDir, REGIONS, 3, { stores, directoryUrl: urls.directory! })).keys()];
    const args = (clientId: string) => [
      '--data-dir',
      dataDir!,
      '--regions',
      REGIONS.join(','),
      ...REGIONS.flatMap((r) => ['--store', `${r}=${urls[r]}`]),
      '--directory-url',
      urls.directory!,
      '--mqtt-url',
      MOSQUITTO,
      '--mqtt-username',
      'svc-ingest',
      '--mqtt-password',
      'unused',
      '--mqtt-client-id',
      clientId,
      '--mqtt-share-group',
      `brewtel-${run}`,
    ];
    servers.push(...(await Promise.all(clientIds.map((id) => spawnServer(args(id))))));

    const publisher = await mqtt.connectAsync(MOSQUITTO, { clientId: `scale-pub-${run}`, clean: true });
    const events = Array.from({ length: EVENTS }, (_, i) => eventOf('brew', devices[i % devices.length]!, new Date(), i + 1));
    await Promise.all(events.map((e) => publisher.publishAsync(topics.event(e.deviceId, 'brew'), JSON.stringify(e), { qos: 1 })));
    await publisher.endAsync();

    const storedBy = () => Promise.all(servers.map((s) => metricValue(s.httpUrl, 'brewtel_ingest_stored_total')));
    await waitUntil('all events stored', async () => (await storedBy()).reduce((a, b) => a + b, 0) >= EVENTS, 30_000);
    const stored = await storedBy();
    expect(
      stored.every((n) => n > 0),
      `each process took a share: ${stored.join(', ')}`,
    ).toBe(true);
    // Messages of devices outside this run (Mosquitto is shared) are refused as unknown; ours were each handled once.
    const handled = await Promise.all(
      servers.map(
        async (s) => (await metricValue(s.httpUrl, 'brewtel_ingest_messages_total')) - (await metricValue(s.httpUrl, 'brewtel_ingest_refused_total')),
      ),
    );
    expect(handled.reduce((a, b) => a + b, 0)).toBe(EVENTS);

    const ids = new Set<string>();
    for (const region of REGIONS) {
      const client = new pg.Client({ connectionString: urls[region] });
      await client.connect();
      const { rows } = await client.query<{ id: string }>('SELECT id FROM "Event"');
      await client.end();
      for (const row of rows) ids.add(row.id);
    }
    expect(ids).toEqual(new Set(events.map((e) => e.id)));
  }, 90_000);
});
