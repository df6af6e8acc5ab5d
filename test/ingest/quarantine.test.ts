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
import { waitUntil } from '../support/wait.ts';
import { provisionDirect } from './support.ts';

const REGIONS = ['eu', 'us'];

let dataDir: string;
let broker: Awaited<ReturnType<typeof startAedes>>;
let server: RunningServer | undefined;
let publisher: MqttClient | undefined;

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'brewtel-quarantine-'));
  broker = await startAedes();
});

afterAll(async () => {
  await publisher?.endAsync(true);
  await server?.close();
  await broker?.close();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

type QuarantineRow = { reason: string; deviceId: string | null; payload: Buffer | null };
function quarantine(file: string): QuarantineRow[] {
  const db = new Database(join(dataDir, file), { readonly: true, fileMustExist: true });
  try {
    return db.prepare('SELECT reason, deviceId, payload FROM Refusal ORDER BY id').all() as QuarantineRow[];
  } finally {
    db.close();
  }
}

describe('quarantine of refused messages', () => {
  it('keeps a known sender’s refused payload in its home region only, and an unknown sender’s without payload', async () => {
    const devices = await provisionDirect(dataDir, REGIONS, 1);
    const euDevice = [...devices].find(([, r]) => r === 'eu')![0];
    server = await startServer(
      serverConfigSchema.parse({
        regions: REGIONS,
        dataDir,
        http: { port: 0 },
        mqtt: { url: broker.url, username: 'svc-ingest', password: 'unused-by-plain-aedes', clientId: 'svc-ingest-quarantine' },
        ingest: { quarantinePayloads: true },
        adminToken: 'admin-token-0123456789abcdef',
        brokerToken: 'broker-token-0123456789abcdef',
        logLevel: 'silent',
      }),
      pino({ level: 'silent' }),
    );
    await server.whenIngestReady();
    publisher = await mqtt.connectAsync(broker.url, { clientId: 'quarantine-publisher', clean: true });

    const leaky = JSON.stringify({ ...eventOf('brew', euDevice), owner: 'Jane Doe' });
    const stranger = 'cm-nobodyknowsthis';
    const unknown = JSON.stringify(eventOf('brew', stranger));
    await publisher.publishAsync(topics.event(euDevice, 'brew'), leaky, { qos: 1 });
    await publisher.publishAsync(topics.event(euDevice, 'brew'), '{"v":1, not json', { qos: 1 });
    await publisher.publishAsync(topics.event(stranger, 'brew'), unknown, { qos: 1 });
    // The device has no location consent: the refusal is recorded, what was refused is not.
    await publisher.publishAsync(topics.event(euDevice, 'location'), JSON.stringify(eventOf('location', euDevice)), { qos: 1 });
    await waitUntil('four refusals', () => Object.values(server!.stats().refused).reduce((a, b) => a + b, 0) === 4, 10_000);
    await server.close();
    server = undefined;

    const eu = quarantine('eu.db');
    // Messages are handled concurrently, so the quarantine's order is not the publishing order.
    expect(eu.map((r) => [r.reason, r.deviceId, r.payload?.toString('utf8')]).sort()).toEqual([
      ['malformed_json', euDevice, '{"v":1, not json'],
      ['not_consented', euDevice, undefined],
      ['schema_invalid', euDevice, leaky],
    ]);
    expect(quarantine('us.db')).toEqual([]);
    expect(quarantine('directory.db')).toEqual([{ reason: 'unknown_device', deviceId: stranger, payload: null }]);
  }, 30_000);
});
