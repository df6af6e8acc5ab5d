import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type mqtt from 'mqtt';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { TcpBroker } from '../../broker/broker.ts';
import { CONTROL_TOPICS } from '../../schema/control.ts';
import { topics } from '../../schema/topics.ts';
import { waitUntil } from '../support/wait.ts';
import { brokerFor, captureLogs, clientPool, INGEST, startDeviceRegistry, type DeviceRegistry } from './support.ts';

const ALICE = { id: 'cm-alice0001', secret: 'alice-one-time-secret-xyz' };
const BOB = { id: 'cm-bob00002', secret: 'bob-one-time-secret-abc' };
/** Has a certificate from the CA, but the registry has never heard of it (or has erased it). */
const CAROL = { id: 'cm-carol0003' };
/** Known to the registry by certificate; first logs in while the registry fails. */
const DAVE = { id: 'cm-dave00004' };
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
    for (const [sub, devices] of [
      ['ca', [ALICE.id, BOB.id, CAROL.id, DAVE.id, 'svc-ingest']],
      ['other', [ALICE.id]],
    ] as const) {
      const made = spawnSync(DEV_CA, [join(dir, sub), ...devices], { encoding: 'utf8' });
      expect(made.status, made.stderr).toBe(0);
    }
    registry = await startDeviceRegistry({ [BOB.id]: { secret: BOB.secret, region: 'us' } }, { [ALICE.id]: { region: 'eu' }, [DAVE.id]: { region: 'us' } });
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

  it('logs a device in by its certificate alone (CN = device id); the registry is asked only whether it exists unrevoked, once', async () => {
    const ingest = pool.open(broker.mqttUrl, { clientId: 'svc-ingest-tls', username: INGEST.username, password: INGEST.password });
    expect(await pool.connack(ingest)).toBe(0);
    const received: string[] = [];
    ingest.on('message', (topic) => received.push(topic));
    await ingest.subscribeAsync('coffee/v1/+/evt/+', { qos: 1 });

    const asked = registry.certificateRequests;
    const alice = overTls({ clientId: ALICE.id }, ALICE.id);
    expect(await pool.connack(alice)).toBe(0);
    await alice.publishAsync(topics.event(ALICE.id, 'brew'), '{}', { qos: 1 });
    await waitUntil('the event of the certificate device', () => received.includes(topics.event(ALICE.id, 'brew')), 5_000);
    expect(registry.certificateRequests).toBe(asked + 1);
    // The answer is cached like a verified secret: a reconnect costs no request.
    await alice.endAsync();
    expect(await pool.connack(overTls({ clientId: ALICE.id }, ALICE.id))).toBe(0);
    expect(registry.certificateRequests).toBe(asked + 1);
  });

  it('refuses a certificate whose device the registry does not know (or has revoked): CONNACK 5', async () => {
    const asked = registry.certificateRequests;
    expect(await pool.connack(overTls({ clientId: CAROL.id }, CAROL.id))).toBe(5);
    expect(registry.certificateRequests).toBe(asked + 1);
    // Refused again from memory for a few seconds, without asking.
    expect(await pool.connack(overTls({ clientId: CAROL.id }, CAROL.id))).toBe(5);
    expect(registry.certificateRequests).toBe(asked + 1);
  });

  it('answers CONNACK 3 to a certificate login while the registry fails', async () => {
    registry.failWith = 503;
    try {
      expect(await pool.connack(overTls({ clientId: DAVE.id }, DAVE.id))).toBe(3);
    } finally {
      registry.failWith = null;
    }
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

  it('closes a certificate session when its device is revoked, and refuses the certificate afterwards', async () => {
    const bob = overTls({ clientId: BOB.id }, BOB.id);
    expect(await pool.connack(bob)).toBe(0);
    const closed = new Promise<void>((resolve) => bob.once('close', () => resolve()));
    const ingest = pool.open(broker.mqttUrl, { clientId: 'svc-ingest-revoke', username: INGEST.username, password: INGEST.password });
    expect(await pool.connack(ingest)).toBe(0);
    await ingest.publishAsync(CONTROL_TOPICS.credentialsRevoked, JSON.stringify({ v: 1, deviceId: BOB.id }), { qos: 1 });
    await closed;
    // The registry would still say yes (it is a stand-in); the broker refuses on the notice alone.
    expect(await pool.connack(overTls({ clientId: BOB.id }, BOB.id))).toBe(5);
  });
});
