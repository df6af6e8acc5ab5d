import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { provisionDeviceResponseSchema, type ProvisionDeviceResponse } from '../../schema/api.ts';
import { topics } from '../../schema/topics.ts';
import { launcherConfigSchema } from '../../launcher/config.ts';
import { startStack, type Stack } from '../../launcher/stack.ts';
import { validEvents } from '../schema/samples.ts';
import { readRegionStore } from '../support/sqlite-stores.ts';

/** Device identity and topic rights, through the real broker asking the real server. */
describe('device access on the embedded stack', () => {
  let dataDir: string;
  let stack: Stack;
  let alice: ProvisionDeviceResponse;
  let bob: ProvisionDeviceResponse;
  const clients: mqtt.MqttClient[] = [];

  const provision = async (region: string): Promise<ProvisionDeviceResponse> => {
    const response = await fetch(`${stack.server.httpUrl}/api/v1/devices`, {
      method: 'POST',
      headers: { authorization: `Bearer ${stack.adminToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ region, consent: { usage: true, location: 'coarse', payment: true, diagnostics: true } }),
    });
    expect(response.status).toBe(201);
    return provisionDeviceResponseSchema.parse(await response.json());
  };

  const connect = (username: string, password: string, clientId = username): mqtt.MqttClient => {
    const client = mqtt.connect(stack.mqttUrl, { clientId, username, password, reconnectPeriod: 0, connectTimeout: 5_000 });
    clients.push(client);
    return client;
  };

  const connackCode = (client: mqtt.MqttClient): Promise<number> =>
    new Promise((resolve) => {
      client.once('connect', () => resolve(0));
      client.once('error', (error) => resolve((error as { code?: number }).code ?? -1));
    });

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'brewtel-access-'));
    const config = launcherConfigSchema.parse({ machines: 0, leaky: 0, httpPort: 0, mqttPort: 0, wsPort: null, dataDir, logLevel: 'silent' });
    stack = await startStack(config, pino({ level: 'silent' }));
    alice = await provision('eu');
    bob = await provision('us');
  });

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.endAsync(true)));
    await stack?.close();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it('refuses a wrong password with CONNACK 4 (bad user name or password)', async () => {
    expect(await connackCode(connect(alice.id, 'not-the-secret'))).toBe(4);
  });

  it('refuses a device that claims another device id as client id', async () => {
    expect(await connackCode(connect(alice.id, alice.secret, bob.id))).not.toBe(0);
  });

  it('accepts the right secret', async () => {
    const client = connect(alice.id, alice.secret);
    expect(await connackCode(client)).toBe(0);
    await client.endAsync();
  });

  it("denies a publish to another device's topic, which never reaches a store", async () => {
    const client = connect(alice.id, alice.secret);
    expect(await connackCode(client)).toBe(0);
    const forged = { ...validEvents.brew, id: '019ac9a0-0000-7000-8000-000000000001', deviceId: bob.id };
    const outcome = await new Promise<string>((resolve) => {
      client.once('close', () => resolve('closed'));
      client.publish(topics.event(bob.id, 'brew'), JSON.stringify(forged), { qos: 1 }, (error) => resolve(error ? 'error' : 'acknowledged'));
    });
    expect(outcome).not.toBe('acknowledged');
    await new Promise((resolve) => setTimeout(resolve, 300));
    for (const region of ['eu', 'us', 'cn']) {
      expect(readRegionStore(dataDir, region).events.filter((e) => e.id === forged.id)).toEqual([]);
    }
  });
});
