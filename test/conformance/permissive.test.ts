import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clientsUnavailable } from './fixture.ts';
import { connackOf, messagesOf, mosquittoSub, paho, pahoEvents, startClients } from './third-party.ts';

/**
 * The same third-party clients against broker/main.ts started with --unsafe-permissive-test-mode,
 * the configuration for protocol suites written by others (docs/conformance.md): anonymous clients,
 * any topic, loopback only. A child process, as such a suite would meet it.
 */
const MAIN = fileURLToPath(new URL('../../broker/main.ts', import.meta.url));

describe.skipIf(clientsUnavailable())('conformance: the unsafe permissive test mode (broker/main.ts), anonymous MQTT 5 and 3.1.1 clients', () => {
  const clients = startClients();
  let broker: ChildProcess;
  let port = 0;
  beforeAll(async () => {
    broker = spawn(process.execPath, ['--import', 'tsx', MAIN, '--unsafe-permissive-test-mode', '--port', '0', '--ws-port', 'off', '--log-level', 'silent'], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    port = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the permissive broker did not start: ${stderr}`)), 20_000);
      broker.stderr!.on('data', (chunk: Buffer) => {
        stderr += chunk.toString('utf8');
        const match = /brewtel broker: mqtt:\/\/127\.0\.0\.1:(\d+)/.exec(stderr);
        if (match) {
          clearTimeout(timer);
          resolve(Number(match[1]));
        }
      });
    });
  });
  afterAll(() => {
    clients.killAll();
    broker?.kill('SIGKILL');
  });

  it('[MQTT-3.1.3-6] [MQTT-3.1.3-7] Paho MQTTv5 with an empty client id: CONNACK 0 with an Assigned Client Identifier', async () => {
    const events = pahoEvents((await paho(clients, { version: 5, host: '127.0.0.1', port, clientId: '' }).finished).stdout);
    expect(connackOf(events)).toMatchObject({ rc: 0 });
    expect(connackOf(events)?.properties?.AssignedClientIdentifier).toEqual(expect.any(String));
  });

  it('[MQTT-3.3.1-5] [MQTT-3.3.1-9] mosquitto_pub -V mqttv5 retains on any topic; a later Paho MQTTv5 subscriber gets it with RETAIN=1', async () => {
    const sent = await clients.run('mosquitto_pub', ['-h', '127.0.0.1', '-p', String(port), '-V', 'mqttv5', '-q', '1', '-r', '-t', 'TopicA/B', '-m', 'kept'])
      .finished;
    expect(sent.code).toBe(0);
    const events = pahoEvents(
      (await paho(clients, { version: 5, host: '127.0.0.1', port, clientId: 'late-subscriber', subscribe: [['TopicA/+', 1]], expect: 1 }).finished).stdout,
    );
    expect(messagesOf(events)).toMatchObject([{ topic: 'TopicA/B', payload: 'kept', retain: 1 }]);
  });

  it('[MQTT-4.3.3-1] mosquitto_sub -V mqttv5 and a 3.1.1 Paho publisher: QoS 2 across protocol versions', async () => {
    const sub = mosquittoSub(clients, ['-h', '127.0.0.1', '-p', String(port), '-V', 'mqttv5', '-q', '2', '-C', '1', '-v', '-t', 'mixed/#']);
    await sub.waitFor('received SUBACK');
    await paho(clients, { host: '127.0.0.1', port, clientId: 'old-publisher', publish: [{ topic: 'mixed/versions', payload: 'q2', qos: 2 }] }).finished;
    await sub.waitFor('mixed/versions q2');
  });
});
