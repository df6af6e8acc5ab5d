import { describe, expect, it } from 'vitest';
import { clientsUnavailable, DEVICES, ingestClientId, INGEST, login, topicOf } from './fixture.ts';
import { useConformanceRig } from './rig.ts';
import { connackOf, mosquittoSub, paho, pahoEvents } from './third-party.ts';

describe.skipIf(clientsUnavailable())('conformance: CONNECT, authentication and keepalive (mosquitto-clients, Paho)', () => {
  const rig = useConformanceRig();

  const pahoAs = rig.device;

  it('[MQTT-3.2.2-1] [MQTT-3.2.2-2] Paho: a device with its secret gets CONNACK 0, session present 0 on a clean session', async () => {
    const result = await pahoAs(DEVICES.alice).finished;
    expect(connackOf(pahoEvents(result.stdout))).toEqual({ event: 'connack', rc: 0, sessionPresent: 0 });
  });

  it('[MQTT-3.2.2-5] Paho: a wrong secret gets CONNACK 4 and the server closes the connection', async () => {
    const events = pahoEvents((await pahoAs({ id: DEVICES.alice.id, secret: 'not-the-secret' }).finished).stdout);
    expect(connackOf(events)).toMatchObject({ rc: 4, sessionPresent: 0 });
    expect(events).toContainEqual({ event: 'done', closed: true });
  });

  it('[MQTT-3.2.2-5] mosquitto_pub: a wrong secret is refused as "bad user name or password"', async () => {
    const args = login(rig.fixture, { id: DEVICES.bob.id, secret: 'wrong-secret' });
    const result = await rig.clients.run('mosquitto_pub', [...args, '-t', topicOf.state(DEVICES.bob.id), '-m', 'online']).finished;
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/bad user name or password/i);
  });

  it('[MQTT-3.1.3-9] mosquitto_pub: a device using another client id gets CONNACK 2 (identifier rejected)', async () => {
    const args = login(rig.fixture, DEVICES.alice, DEVICES.bob.id);
    const result = await rig.clients.run('mosquitto_pub', [...args, '-t', topicOf.state(DEVICES.alice.id), '-m', 'online']).finished;
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/identifier rejected/i);
  });

  it('[MQTT-3.2.2-5] mosquitto_pub: no credentials get CONNACK 5 (not authorised)', async () => {
    const args = ['-h', rig.fixture.host, '-p', String(rig.fixture.port), '-V', 'mqttv311', '-i', DEVICES.alice.id];
    const result = await rig.clients.run('mosquitto_pub', [...args, '-t', topicOf.state(DEVICES.alice.id), '-m', 'online']).finished;
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/not authori[sz]ed/i);
  });

  it('[MQTT-3.2.2-5] Paho: a service account with a client id outside svc- gets CONNACK 2', async () => {
    const result = await paho(rig.clients, {
      host: rig.fixture.host,
      port: rig.fixture.port,
      clientId: 'ingest-without-prefix',
      username: INGEST.username,
      password: INGEST.password,
    }).finished;
    expect(connackOf(pahoEvents(result.stdout))).toMatchObject({ rc: 2 });
  });

  it('[MQTT-3.12.4-1] Paho: every PINGREQ of a 1 s keepalive is answered with PINGRESP, the session stays up', async () => {
    const result = await pahoAs(DEVICES.alice, { keepalive: 1, log: true, holdMs: 3_500 }).finished;
    const logs = pahoEvents(result.stdout).flatMap((e) => (e.event === 'log' ? [e.text] : []));
    const pings = logs.filter((t) => t.includes('Sending PINGREQ')).length;
    expect(pings).toBeGreaterThanOrEqual(2);
    expect(logs.filter((t) => t.includes('Received PINGRESP')).length).toBe(pings);
    // rc 0: the only disconnect is the client's own DISCONNECT at the end.
    expect(pahoEvents(result.stdout).filter((e) => e.event === 'disconnected')).toEqual([{ event: 'disconnected', rc: 0 }]);
  });

  it('[MQTT-3.1.2-24] [MQTT-3.1.2-8] Paho: a client silent for 1.5 x keepalive is disconnected and its will published', async () => {
    const stateTopic = topicOf.state(DEVICES.bob.id);
    const watcher = mosquittoSub(rig.clients, [...login(rig.fixture, INGEST, ingestClientId('keepalive')), '-q', '1', '-C', '1', '-v', '-t', stateTopic]);
    await watcher.waitFor('received SUBACK');
    const silent = pahoAs(DEVICES.bob, { keepalive: 1, silent: true, waitMs: 4_000, will: { topic: stateTopic, payload: 'offline', qos: 1, retain: false } });
    await watcher.waitFor(`${stateTopic} offline`, 10_000);
    const events = pahoEvents((await silent.finished).stdout);
    expect(connackOf(events)).toMatchObject({ rc: 0 });
    expect(events).toContainEqual({ event: 'done', closed: true });
  });
});
