import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { TcpBroker } from '../../broker/broker.ts';
import { brokerFor, captureLogs, INGEST, startDeviceRegistry, type DeviceRegistry } from '../broker/support.ts';
import { clientsUnavailable, DEVICES, ingestClientId, topicOf } from './fixture.ts';
import { connackOf, messagesOf, mosquittoSub, paho, pahoEvents, startClients } from './third-party.ts';

const DEV_CA = join(import.meta.dirname, '../../broker/dev-ca.sh');

/** mosquitto_pub/mosquitto_sub over our TLS listener, with certificates from broker/dev-ca.sh. */
describe.skipIf(clientsUnavailable())('conformance over TLS: mosquitto clients with the dev CA, secrets and device certificates', () => {
  let dir: string;
  let registry: DeviceRegistry;
  let broker: TcpBroker;
  const clients = startClients();

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'brewtel-conformance-tls-'));
    const made = spawnSync(DEV_CA, [dir, DEVICES.alice.id], { encoding: 'utf8' });
    expect(made.status, made.stderr).toBe(0);
    // Alice logs in by certificate; the registry still vouches that her device exists unrevoked.
    registry = await startDeviceRegistry({ [DEVICES.bob.id]: { secret: DEVICES.bob.secret, region: 'us' } }, { [DEVICES.alice.id]: { region: 'eu' } });
    broker = await brokerFor(registry, captureLogs().logger, {
      tls: { port: 0, certFile: join(dir, 'server.crt'), keyFile: join(dir, 'server.key'), caFile: join(dir, 'ca.crt') },
    });
  });
  afterEach(() => clients.killAll());
  afterAll(async () => {
    await broker?.close();
    await registry?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const tls = (): string[] => ['-h', '127.0.0.1', '-p', String(broker.tlsPort), '-V', 'mqttv311', '--cafile', join(dir, 'ca.crt')];
  const ingestSub = (label: string, topic: string) =>
    mosquittoSub(clients, [
      ...tls(),
      '-i',
      ingestClientId(label),
      '-u',
      INGEST.username,
      '-P',
      INGEST.password,
      '-q',
      '1',
      '-v',
      '-C',
      '1',
      '-W',
      '10',
      '-t',
      topic,
    ]);

  it('[MQTT-3.2.0-1] [MQTT-4.3.2-1] a device with its secret publishes at QoS 1 over TLS to a service account on TLS', async () => {
    const topic = topicOf.event(DEVICES.bob.id);
    const sub = ingestSub('tls-secret', topic);
    await sub.waitFor('received SUBACK');
    const sent = clients.run('mosquitto_pub', [
      ...tls(),
      '-d',
      '-i',
      DEVICES.bob.id,
      '-u',
      DEVICES.bob.id,
      '-P',
      DEVICES.bob.secret,
      '-q',
      '1',
      '-t',
      topic,
      '-m',
      'over-tls',
    ]);
    const published = await sent.finished;
    expect(published.code, published.stderr).toBe(0);
    expect(published.stdout).toMatch(/received PUBACK/);
    await sub.waitFor(`${topic} over-tls`);
  });

  it('[MQTT-3.2.0-1] [MQTT-4.3.2-1] a device logs in by its client certificate alone (CN = device id) and publishes', async () => {
    const topic = topicOf.event(DEVICES.alice.id);
    const sub = ingestSub('tls-cert', topic);
    await sub.waitFor('received SUBACK');
    const cert = ['--cert', join(dir, `${DEVICES.alice.id}.crt`), '--key', join(dir, `${DEVICES.alice.id}.key`)];
    const published = await clients.run('mosquitto_pub', [...tls(), ...cert, '-d', '-i', DEVICES.alice.id, '-q', '1', '-t', topic, '-m', 'by-certificate'])
      .finished;
    expect(published.code, published.stderr).toBe(0);
    await sub.waitFor(`${topic} by-certificate`);
  });

  it('[MQTT-3.2.0-1] [MQTT-4.3.2-1] Paho over TLS: a device with its secret and one by its certificate alone publish at QoS 1; Paho as TLS subscriber receives both', async () => {
    const tlsOf = (certOf?: string) => ({
      caFile: join(dir, 'ca.crt'),
      ...(certOf ? { certFile: join(dir, `${certOf}.crt`), keyFile: join(dir, `${certOf}.key`) } : {}),
    });
    const topics = [topicOf.event(DEVICES.bob.id), topicOf.event(DEVICES.alice.id)];
    const subscriber = paho(clients, {
      host: '127.0.0.1',
      port: broker.tlsPort!,
      tls: tlsOf(),
      clientId: ingestClientId('paho-tls'),
      username: INGEST.username,
      password: INGEST.password,
      subscribe: topics.map((t) => [t, 1] as [string, 1]),
      expect: 2,
      waitMs: 8_000,
    });
    await subscriber.waitFor('"suback"');
    const bob = pahoEvents(
      (
        await paho(clients, {
          host: '127.0.0.1',
          port: broker.tlsPort!,
          tls: tlsOf(),
          clientId: DEVICES.bob.id,
          username: DEVICES.bob.id,
          password: DEVICES.bob.secret,
          publish: [{ topic: topics[0]!, payload: 'paho-secret', qos: 1 }],
        }).finished
      ).stdout,
    );
    expect(connackOf(bob)).toMatchObject({ rc: 0 });
    expect(bob).toContainEqual(expect.objectContaining({ event: 'published' }));
    const alice = pahoEvents(
      (
        await paho(clients, {
          host: '127.0.0.1',
          port: broker.tlsPort!,
          tls: tlsOf(DEVICES.alice.id),
          clientId: DEVICES.alice.id,
          publish: [{ topic: topics[1]!, payload: 'paho-certificate', qos: 1 }],
        }).finished
      ).stdout,
    );
    expect(connackOf(alice)).toMatchObject({ rc: 0 });
    expect(messagesOf(pahoEvents((await subscriber.finished).stdout)).map((m) => [m.topic, m.payload, m.qos])).toEqual([
      [topics[0], 'paho-secret', 1],
      [topics[1], 'paho-certificate', 1],
    ]);
  });

  it('[MQTT-3.1.3-9] a client certificate used under another client id: CONNACK 2 (identifier rejected)', async () => {
    const cert = ['--cert', join(dir, `${DEVICES.alice.id}.crt`), '--key', join(dir, `${DEVICES.alice.id}.key`)];
    const refused = await clients.run('mosquitto_pub', [...tls(), ...cert, '-i', DEVICES.bob.id, '-q', '1', '-t', topicOf.event(DEVICES.bob.id), '-m', 'x'])
      .finished;
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/identifier rejected/i);
  });
});
