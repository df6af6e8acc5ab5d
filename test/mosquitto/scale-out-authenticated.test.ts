import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { topics } from '../../schema/topics.ts';
import { ALL_CONSENT, callApi, eventOf } from '../server/app/helpers.ts';
import { createTempDatabases, postgresReachable } from '../server/store/pg-temp-databases.ts';
import { waitUntil } from '../support/wait.ts';
import { ADMIN_TOKEN, metricValue, spawnServer, type ServerProcess } from '../ingest/support.ts';
import { mosquittoInstalled, startMosquitto, type MosquittoProcess } from './mosquitto-process.ts';

const REGIONS = ['eu', 'us'];
const DEVICES_PER_REGION = 3;
const EVENTS = 600;

const available = mosquittoInstalled() && (await postgresReachable());
if (!available && process.env.CI === 'true') throw new Error('the authenticated scale-out test needs PostgreSQL on 127.0.0.1:5432 under CI');

const run = randomBytes(4).toString('hex');
// Hex: a base64url password may start with '-', which a command line takes for an option.
const servicePassword = randomBytes(24).toString('hex');
const servers: ServerProcess[] = [];
let broker: MosquittoProcess | undefined;
let dir: string | undefined;
let dropDatabases: (() => Promise<void>) | undefined;

afterAll(async () => {
  for (const server of servers) await server.stop();
  await broker?.stop();
  await dropDatabases?.();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe.skipIf(!available)('two server processes sharing ingest through $share on a Mosquitto with authentication and the ACL on', () => {
  it('each keeps the files in step, devices log in with their secrets, every event is stored once and none is lost', async () => {
    dir = await mkdtemp(join(tmpdir(), 'brewtel-mosquitto-scale-'));
    broker = await startMosquitto(dir);
    const { urls, drop } = await createTempDatabases(['directory', ...REGIONS]);
    dropDatabases = drop;
    const args = (clientId: string) => [
      '--data-dir',
      join(dir!, 'data'),
      '--regions',
      REGIONS.join(','),
      ...REGIONS.flatMap((r) => ['--store', `${r}=${urls[r]}`]),
      '--directory-url',
      urls.directory!,
      '--mqtt-url',
      broker!.serviceUrl,
      '--mqtt-username',
      'svc-ingest',
      '--mqtt-password',
      servicePassword,
      '--mqtt-client-id',
      clientId,
      '--mqtt-share-group',
      `brewtel-${run}`,
      '--mosquitto-password-file',
      broker!.passwordFile,
      '--mosquitto-acl-file',
      broker!.aclFile,
      '--mosquitto-pid-file',
      broker!.pidFile,
    ];
    // One at a time: the second one's migrations and key files find the first one's.
    for (const id of [`svc-scale-${run}-a`, `svc-scale-${run}-b`]) servers.push(await spawnServer(args(id)));

    // Provisioned through both processes: each writes its devices' lines into the one shared file.
    const devices: { id: string; secret: string }[] = [];
    for (const [i, region] of REGIONS.flatMap((r) => Array.from({ length: DEVICES_PER_REGION }, () => r)).entries()) {
      const answer = await callApi(servers[i % 2]!.httpUrl, 'POST', '/api/v1/devices', ADMIN_TOKEN, { region, consent: ALL_CONSENT });
      expect(answer.status).toBe(201);
      devices.push(answer.json as { id: string; secret: string });
    }

    const connectDevice = (d: { id: string; secret: string }) =>
      mqtt.connectAsync(broker!.deviceUrl, { clientId: d.id, username: d.id, password: d.secret, clean: true, reconnectPeriod: 0, protocolVersion: 5 });
    // Each answer came after its reload signal; Mosquitto applies it a moment later.
    await waitUntil(
      'every device admitted',
      async () => {
        const tried = await Promise.allSettled(devices.map(connectDevice));
        await Promise.all(tried.map((t) => (t.status === 'fulfilled' ? t.value.endAsync() : undefined)));
        return tried.every((t) => t.status === 'fulfilled');
      },
      10_000,
    );

    const clients = await Promise.all(devices.map(connectDevice));
    const events = Array.from({ length: EVENTS }, (_, i) => eventOf('brew', devices[i % devices.length]!.id, new Date(), Math.floor(i / devices.length) + 1));
    await Promise.all(events.map((e, i) => clients[i % clients.length]!.publishAsync(topics.event(e.deviceId, 'brew'), JSON.stringify(e), { qos: 1 })));
    await Promise.all(clients.map((c) => c.endAsync()));

    const storedBy = () => Promise.all(servers.map((s) => metricValue(s.httpUrl, 'brewtel_ingest_stored_total')));
    await waitUntil('all events stored', async () => (await storedBy()).reduce((a, b) => a + b, 0) >= EVENTS, 30_000);
    const stored = await storedBy();
    expect(
      stored.every((n) => n > 0),
      `each process took a share: ${stored.join(', ')}`,
    ).toBe(true);
    const handled = await Promise.all(servers.map((s) => metricValue(s.httpUrl, 'brewtel_ingest_messages_total')));
    expect(handled.reduce((a, b) => a + b, 0)).toBe(EVENTS);

    const ids: string[] = [];
    for (const region of REGIONS) {
      const client = new pg.Client({ connectionString: urls[region] });
      await client.connect();
      const { rows } = await client.query<{ id: string }>('SELECT id FROM "Event"');
      await client.end();
      ids.push(...rows.map((r) => r.id));
    }
    expect(ids.length).toBe(EVENTS);
    expect(new Set(ids)).toEqual(new Set(events.map((e) => e.id)));
    for (const server of servers) expect(await metricValue(server.httpUrl, 'brewtel_mosquitto_sync_total')).toBeGreaterThan(0);
  }, 120_000);
});
