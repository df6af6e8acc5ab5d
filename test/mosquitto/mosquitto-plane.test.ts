import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AclSubject, publishVerdict } from '../../broker/acl-policy.ts';
import { COMMAND_NAMES } from '../../schema/commands.ts';
import { CONTROL_TOPICS } from '../../schema/control.ts';
import { EVENT_KINDS } from '../../schema/events.ts';
import { TOPIC_ROOT, topics } from '../../schema/topics.ts';
import { serverConfigSchema } from '../../server/config.ts';
import { parsePasswordFile } from '../../server/mosquitto/password-file.ts';
import { startServer, type RunningServer } from '../../server/server.ts';
import { ALL_CONSENT, callApi, eventOf, wrongSecret } from '../server/app/helpers.ts';
import { waitUntil } from '../support/wait.ts';
import { metricValue } from '../ingest/support.ts';
import { mosquittoInstalled, startMosquitto, type MosquittoProcess } from './mosquitto-process.ts';

const ADMIN = 'admin-token-0123456789abcdef';
const available = mosquittoInstalled();
const run = randomBytes(4).toString('hex');
// Hex: a base64url password may start with '-', which a command line takes for an option.
const servicePassword = randomBytes(24).toString('hex');

let dir: string;
let broker: MosquittoProcess;
let server: RunningServer;
const clients: MqttClient[] = [];

beforeAll(async () => {
  if (!available) return;
  dir = await mkdtemp(join(tmpdir(), 'brewtel-mosquitto-'));
  broker = await startMosquitto(dir);
  server = await startServer(
    serverConfigSchema.parse({
      regions: ['eu', 'us'],
      dataDir: join(dir, 'data'),
      http: { port: 0 },
      adminToken: ADMIN,
      brokerToken: 'broker-token-0123456789abcdef',
      mqtt: { url: broker.serviceUrl, username: 'svc-ingest', password: servicePassword, clientId: `svc-plane-${run}` },
      mosquitto: { passwordFile: broker.passwordFile, aclFile: broker.aclFile, pidFile: broker.pidFile },
      logLevel: 'silent',
    }),
    pino({ level: 'silent' }),
  );
  // The service account's line was written at start: ingest logging in proves Mosquitto took it.
  await server.whenIngestReady();
}, 30_000);

afterAll(async () => {
  for (const client of clients) await client.endAsync(true).catch(() => undefined);
  await server?.close();
  await broker?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function provision(region: string): Promise<{ id: string; secret: string }> {
  const answer = await callApi(server.httpUrl, 'POST', '/api/v1/devices', ADMIN, { region, consent: ALL_CONSENT });
  expect(answer.status).toBe(201);
  return answer.json as { id: string; secret: string };
}

async function connectAs(url: string, username: string, password: string, clientId = username): Promise<MqttClient> {
  const client = await mqtt.connectAsync(url, { username, password, clientId, reconnectPeriod: 0, connectTimeout: 3_000, protocolVersion: 5 });
  clients.push(client);
  return client;
}

/** Connecting is refused (CONNACK not authorised), or the attempt fails otherwise. */
async function refused(url: string, username: string, password: string): Promise<boolean> {
  try {
    const client = await connectAs(url, username, password);
    await client.endAsync(true);
    return false;
  } catch {
    return true;
  }
}

/** Whether our policy lets `subject` publish on `topic` at all; Mosquitto's ACL file cannot look at the retain flag. */
function topicAllowed(subject: AclSubject, topic: string): boolean {
  const plain = publishVerdict(subject, topic, { retain: false, empty: false });
  return plain !== 'deny' || publishVerdict(subject, topic, { retain: true, empty: true }) === 'allow';
}

const candidateTopics = (id: string): string[] => [
  ...EVENT_KINDS.map((kind) => topics.event(id, kind)),
  `${TOPIC_ROOT}/${id}/evt/unknown`,
  topics.state(id),
  topics.consent(id),
  ...COMMAND_NAMES.flatMap((name) => [topics.command(id, name), topics.commandResult(id, name)]),
  topics.command(id, 'unknown'),
  topics.commandResult(id, 'unknown'),
  `${TOPIC_ROOT}/${id}/elsewhere`,
];

describe.skipIf(!available)('a plane whose broker is Mosquitto, its files kept in step by the server', () => {
  let a: { id: string; secret: string };
  let b: { id: string; secret: string };

  it('lets a provisioned device in with its secret only', async () => {
    [a, b] = [await provision('eu'), await provision('us')];
    const lines = parsePasswordFile(await readFile(broker.passwordFile, 'utf8'));
    expect([...lines.keys()].sort()).toEqual(['svc-ingest', a.id, b.id].sort());
    expect(lines.get(a.id)).toMatch(/^\$7\$101\$[A-Za-z0-9+/=]{16}\$[A-Za-z0-9+/=]{88}$/);
    expect((await stat(broker.passwordFile)).mode & 0o777).toBe(0o600);
    // The answer comes after the reload signal; Mosquitto reloads a moment later.
    await waitUntil('device A admitted', async () => !(await refused(broker.deviceUrl, a.id, a.secret)), 5_000);
    expect(await refused(broker.deviceUrl, a.id, wrongSecret(a.secret))).toBe(true);
    expect(await refused(broker.deviceUrl, 'cm-nobody', a.secret)).toBe(true);
  });

  it("keeps a device off another device's topics: its message never reaches a subscriber", async () => {
    const watcher = await connectAs(broker.serviceUrl, 'svc-ingest', servicePassword, `svc-watch-${run}`);
    const seen: string[] = [];
    watcher.on('message', (topic, payload) => seen.push(`${topic} ${payload.toString()}`));
    await watcher.subscribeAsync(topics.filters.allEvents, { qos: 1 });

    const deviceA = await connectAs(broker.deviceUrl, a.id, a.secret, 'any-client-id');
    const forged = eventOf('brew', b.id, new Date(), 1);
    // MQTT 5: the refusal is a PUBACK with 0x87 Not authorized [MQTT-3.4.2-1].
    await expect(deviceA.publishAsync(topics.event(b.id, 'brew'), JSON.stringify(forged), { qos: 1 })).rejects.toThrow();
    const own = eventOf('brew', a.id, new Date(), 1);
    await deviceA.publishAsync(topics.event(a.id, 'brew'), JSON.stringify(own), { qos: 1 });
    await waitUntil("A's own event seen", () => seen.some((m) => m.includes(own.id)), 5_000);
    expect(seen.filter((m) => m.includes(forged.id))).toEqual([]);
    expect(seen.every((m) => m.startsWith(topics.event(a.id, 'brew')))).toBe(true);

    // A subscription to everything still delivers only the device's own records (checked per message).
    const deviceB = await connectAs(broker.deviceUrl, b.id, b.secret);
    const heardByB: string[] = [];
    deviceB.on('message', (topic) => heardByB.push(topic));
    await deviceB.subscribeAsync('coffee/v1/+/consent', { qos: 1 });
    await waitUntil("B's retained consent", () => heardByB.includes(topics.consent(b.id)), 5_000);
    await deviceA.publishAsync(topics.event(a.id, 'brew'), JSON.stringify(eventOf('brew', a.id, new Date(), 2)), { qos: 1 });
    await waitUntil('ingest stored A', async () => (await metricValue(server.httpUrl, 'brewtel_ingest_stored_total')) >= 2, 10_000);
    expect(heardByB).toEqual([topics.consent(b.id)]);
  });

  it("grants on Mosquitto the publish rights our broker's policy grants, topic by topic (retain aside)", async () => {
    const device = await connectAs(broker.deviceUrl, b.id, b.secret);
    const service = await connectAs(broker.serviceUrl, 'svc-ingest', servicePassword, `svc-acl-${run}`);
    const all = [...candidateTopics(b.id), ...candidateTopics(a.id), ...Object.values(CONTROL_TOPICS), '$SYS/broker/uptime', 'elsewhere/topic'];
    const subjects: [MqttClient, AclSubject][] = [
      [device, { kind: 'device', deviceId: b.id }],
      [service, { kind: 'service', role: 'ingest' }],
    ];
    for (const [client, subject] of subjects) {
      const onMosquitto: string[] = [];
      // MQTT 5: a refused QoS 1 publish is answered PUBACK 0x87 and the connection stays up.
      for (const topic of all)
        if (
          await client.publishAsync(topic, 'x', { qos: 1 }).then(
            () => true,
            () => false,
          )
        )
          onMosquitto.push(topic);
      expect(onMosquitto, subject.kind).toEqual(all.filter((topic) => topicAllowed(subject, topic)));
      expect(client.connected).toBe(true);
    }
  });

  it('erasure removes the line, and after the reload the device is turned away', async () => {
    const deviceA = await connectAs(broker.deviceUrl, a.id, a.secret);
    let closed = false;
    deviceA.once('close', () => {
      closed = true;
    });
    const erased = await callApi(server.httpUrl, 'DELETE', `/api/v1/devices/${a.id}`, ADMIN);
    expect(erased.status).toBe(200);
    expect([...parsePasswordFile(await readFile(broker.passwordFile, 'utf8')).keys()].sort()).toEqual(['svc-ingest', b.id].sort());
    // Mosquitto closes the session of an account its reload no longer finds.
    await waitUntil("A's session closed by the reload", () => closed, 5_000);
    expect(await refused(broker.deviceUrl, a.id, a.secret)).toBe(true);
    expect(await refused(broker.deviceUrl, b.id, b.secret)).toBe(false);
    expect(await metricValue(server.httpUrl, 'brewtel_mosquitto_sync_total')).toBeGreaterThanOrEqual(6);
  });
});
