import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type mqtt from 'mqtt';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { TcpBroker } from '../../broker/broker.ts';
import { topics } from '../../schema/topics.ts';
import { waitUntil } from '../support/wait.ts';
import { brokerFor, captureLogs, clientPool, INGEST, startDeviceRegistry, type DeviceRegistry } from './support.ts';

const ALICE = { id: 'cm-alice0001', secret: 'alice-one-time-secret-xyz' };
const BOB = { id: 'cm-bob00002', secret: 'bob-one-time-secret-abc' };
const DEV_CA = join(import.meta.dirname, '../../broker/dev-ca.sh');

const opensslPresent = spawnSync('openssl', ['version']).status === 0;
if (!opensslPresent && process.env.CI === 'true') throw new Error('openssl is missing (.ci/debian-packages.txt lists it)');

describe.skipIf(!opensslPresent)('broker TLS listener and client-certificate login (certificates from broker/dev-ca.sh)', () => {
  let dir: string;
  let registry: DeviceRegistry;
  let broker: TcpBroker;
  const logs = captureLogs();
  const pool = clientPool();
  const pem = (file: string): Buffer => readFileSync(join(dir, file));

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'brewtel-tls-'));
    for (const [sub, devices] of [['ca', [ALICE.id, BOB.id, 'svc-ingest']], ['other', [ALICE.id]]] as const) {
      const made = spawnSync(DEV_CA, [join(dir, sub), ...devices], { encoding: 'utf8' });
      expect(made.status, made.stderr).toBe(0);
    }
    registry = await startDeviceRegistry({ [BOB.id]: { secret: BOB.secret, region: 'us' } });
    broker = await brokerFor(registry, logs.logger, {
      tls: { port: 0, certFile: join(dir, 'ca/server.crt'), keyFile: join(dir, 'ca/server.key'), caFile: join(dir, 'ca/ca.crt') },
    });
  });
  afterEach(() => pool.endAll());
  afterAll(async () => {
    await broker?.close();
    await registry?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const overTls = (options: mqtt.IClientOptions, certOf?: string, caDir = 'ca'): mqtt.MqttClient =>
    pool.open(broker.mqttsUrl!, {
      ca: pem('ca/ca.crt'),
      ...(certOf ? { cert: pem(`${caDir}/${certOf}.crt`), key: pem(`${caDir}/${certOf}.key`) } : {}),
      ...options,
    });

  it('serves MQTT over TLS with the configured certificate; a device logs in with its secret', async () => {
    expect(broker.mqttsUrl).toMatch(/^mqtts:\/\/127\.0\.0\.1:\d+$/);
    expect(await pool.connack(overTls({ clientId: BOB.id, username: BOB.id, password: BOB.secret }))).toBe(0);
  });

  it('logs a device in by its certificate alone (CN = device id), without asking the registry', async () => {
    const ingest = pool.open(broker.mqttUrl, { clientId: 'svc-ingest-tls', username: INGEST.username, password: INGEST.password });
    expect(await pool.connack(ingest)).toBe(0);
    const received: string[] = [];
    ingest.on('message', (topic) => received.push(topic));
    await ingest.subscribeAsync('coffee/v1/+/evt/+', { qos: 1 });

    const asked = registry.requests;
    const alice = overTls({ clientId: ALICE.id }, ALICE.id);
    expect(await pool.connack(alice)).toBe(0);
    await alice.publishAsync(topics.event(ALICE.id, 'brew'), '{}', { qos: 1 });
    await waitUntil('the event of the certificate device', () => received.includes(topics.event(ALICE.id, 'brew')), 5_000);
    expect(registry.requests).toBe(asked);
  });

  it("keeps a certificate's device inside its own topics", async () => {
    const alice = overTls({ clientId: ALICE.id }, ALICE.id);
    expect(await pool.connack(alice)).toBe(0);
    const closed = new Promise<void>((resolve) => alice.once('close', () => resolve()));
    alice.publish(topics.event(BOB.id, 'brew'), '{}', { qos: 1 });
    await closed;
    expect(logs.lines.some((l) => l.includes('publish denied') && l.includes(ALICE.id))).toBe(true);
  });

  it('refuses a client id (or username) other than the certificate names: CONNACK 2', async () => {
    expect(await pool.connack(overTls({ clientId: BOB.id }, ALICE.id))).toBe(2);
    expect(await pool.connack(overTls({ clientId: ALICE.id, username: BOB.id, password: BOB.secret }, ALICE.id))).toBe(2);
  });

  it('never takes a service account from a certificate: CONNACK 5', async () => {
    expect(await pool.connack(overTls({ clientId: 'svc-ingest' }, 'svc-ingest'))).toBe(5);
  });

  it('ignores a certificate from another CA: the client must log in with a secret', async () => {
    expect(await pool.connack(overTls({ clientId: ALICE.id }, ALICE.id, 'other'))).toBe(5);
    expect(await pool.connack(overTls({ clientId: BOB.id, username: BOB.id, password: BOB.secret }, ALICE.id, 'other'))).toBe(0);
  });
});
