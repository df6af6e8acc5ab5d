import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { provisionDeviceResponseSchema, type ProvisionDeviceResponse } from '../../schema/api.ts';
import type { Owner } from '../../schema/privacy.ts';
import { topics } from '../../schema/topics.ts';
import { launcherConfigSchema } from '../../launcher/config.ts';
import { startStack, type Stack } from '../../launcher/stack.ts';

/**
 * Erasure drops every credential cache at once, on the embedded stack (our broker asking our
 * server): the server's directory cache and the broker's five-minute login cache both held the
 * device's verified secret, which let it in for minutes after the erasure answered.
 */
describe('erasure revokes credentials at once (embedded broker + server)', () => {
  let dataDir: string;
  let stack: Stack;
  const clients: mqtt.MqttClient[] = [];

  const api = async (method: string, path: string, body?: unknown): Promise<{ status: number; json: unknown }> => {
    const response = await fetch(`${stack.server.httpUrl}${path}`, {
      method,
      headers: { authorization: `Bearer ${stack.adminToken}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await response.text();
    return { status: response.status, json: text ? JSON.parse(text) : null };
  };
  const provision = async (): Promise<ProvisionDeviceResponse> => {
    const created = await api('POST', '/api/v1/devices', { region: 'eu', consent: { usage: true, location: 'coarse', payment: false, diagnostics: true } });
    expect(created.status).toBe(201);
    return provisionDeviceResponseSchema.parse(created.json);
  };
  const login = (device: ProvisionDeviceResponse): { client: mqtt.MqttClient; connack: Promise<number> } => {
    const client = mqtt.connect(stack.mqttUrl, {
      clientId: device.id,
      username: device.id,
      password: device.secret,
      reconnectPeriod: 0,
      connectTimeout: 5_000,
    });
    clients.push(client);
    const connack = new Promise<number>((resolve) => {
      client.once('connect', () => resolve(0));
      client.once('error', (error) => resolve((error as { code?: number }).code ?? -1));
    });
    return { client, connack };
  };
  /** Logs in, stays connected, and resolves `closed` with the time the broker closed the session. */
  const connected = async (device: ProvisionDeviceResponse): Promise<{ client: mqtt.MqttClient; closed: Promise<number> }> => {
    const { client, connack } = login(device);
    expect(await connack).toBe(0);
    return { client, closed: new Promise((resolve) => client.once('close', () => resolve(Date.now()))) };
  };

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'brewtel-revoke-'));
    const config = launcherConfigSchema.parse({ machines: 0, leaky: 0, httpPort: 0, mqttPort: 0, wsPort: null, dataDir, logLevel: 'silent' });
    stack = await startStack(config, pino({ level: 'silent' }));
  });
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.endAsync(true)));
    await stack?.close();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it('refuses a deleted device at once: its live session is closed and its old secret is refused', async () => {
    const device = await provision();
    // Logged in before: the broker and the server have both cached the verified device.
    const earlier = login(device);
    expect(await earlier.connack).toBe(0);
    await earlier.client.endAsync();
    const { closed } = await connected(device);

    const asked = Date.now();
    const deleted = await api('DELETE', `/api/v1/devices/${device.id}`);
    expect(deleted.status).toBe(200);
    const answered = Date.now();
    expect(await login(device).connack).toBe(4);
    expect((await closed) - asked).toBeLessThan(answered - asked + 1_000);
    expect(stack.broker!.stats()).toMatchObject({ revocationNotices: 1, revokedSessions: 1 });
  });

  it('refuses every device of an erased owner at once, and refuses commands to them', async () => {
    const owner = (await api('POST', '/api/v1/owners', { region: 'eu', name: 'Frida Example', contact: 'frida@example.test' })).json as Owner;
    const devices = [await provision(), await provision()];
    for (const device of devices) expect((await api('POST', `/api/v1/owners/${owner.id}/devices`, { deviceId: device.id })).status).toBe(200);
    const sessions = await Promise.all(devices.map(connected));
    const commands: string[] = [];
    sessions[0]!.client.on('message', (topic) => commands.push(topic));
    await sessions[0]!.client.subscribeAsync(topics.filters.deviceCommands(devices[0]!.id), { qos: 1 });

    expect((await api('DELETE', `/api/v1/owners/${owner.id}`)).status).toBe(200);
    for (const device of devices) expect(await login(device).connack).toBe(4);
    await Promise.all(sessions.map((s) => s.closed));
    // The erasure's own wipe-local-data reached the connected device before its session closed.
    expect(commands).toContain(topics.command(devices[0]!.id, 'wipe-local-data'));
    expect(await api('POST', `/api/v1/devices/${devices[0]!.id}/commands/reboot`)).toMatchObject({ status: 410, json: { code: 'DEVICE_ERASED' } });
  });
});
