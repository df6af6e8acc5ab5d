import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import pino from 'pino';
import { provisionDeviceResponseSchema } from '../../schema/api.ts';
import type { ConsentCategories } from '../../schema/consent.ts';
import { launcherConfigSchema } from '../../launcher/config.ts';
import { startStack, type Stack } from '../../launcher/stack.ts';
import { waitUntil } from '../support/wait.ts';
import type { LedgerEntry, Sender } from './oracle.ts';

/** The embedded stack (our broker asking our server about secrets, ingest on SQLite) and two devices provisioned through the API. */
export interface WireDevice {
  id: string;
  secret: string;
  region: string;
  ledger: LedgerEntry[];
}

export interface WireWorld {
  stack: Stack;
  mqttUrl: string;
  dataDir: string;
  regions: string[];
  devices: [WireDevice, WireDevice];
  senderOf(deviceId: string): Sender;
  /** Messages the server has finished (stored or refused), from its own counters. */
  handled(): number;
  refusedBy(reason: string): number;
  /** Waits until the server has finished `count` messages in total. */
  handledReaches(count: number): Promise<void>;
  /** A device connection that never reconnects on its own; resolves with it and its CONNACK code. */
  connect(username: string, password: string, clientId?: string): Promise<{ client: mqtt.MqttClient; code: number }>;
  close(): Promise<void>;
}

export async function openWireWorld(): Promise<WireWorld> {
  const dataDir = await mkdtemp(join(tmpdir(), 'brewtel-fuzz-wire-'));
  const regions = ['eu', 'us'];
  const config = launcherConfigSchema.parse({ machines: 0, leaky: 0, httpPort: 0, mqttPort: 0, wsPort: null, dataDir, regions, logLevel: 'silent' });
  const stack = await startStack(config, pino({ level: 'silent' }));
  const clients: mqtt.MqttClient[] = [];
  const provision = async (region: string, categories: ConsentCategories): Promise<WireDevice> => {
    const response = await fetch(`${stack.server.httpUrl}/api/v1/devices`, {
      method: 'POST',
      headers: { authorization: `Bearer ${stack.adminToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ region, consent: categories }),
    });
    if (response.status !== 201) throw new Error(`provisioning failed: HTTP ${response.status}`);
    const body = provisionDeviceResponseSchema.parse(await response.json());
    return {
      id: body.id,
      secret: body.secret,
      region,
      ledger: [{ version: body.consent.version, issuedAt: Date.parse(body.consent.issuedAt), categories: body.consent.categories }],
    };
  };
  const devices: [WireDevice, WireDevice] = [
    await provision('eu', { usage: true, location: 'exact', payment: true, diagnostics: true }),
    await provision('us', { usage: true, location: 'coarse', payment: false, diagnostics: true }),
  ];
  const stats = (): ReturnType<Stack['server']['stats']> => stack.server.stats();
  const handled = (): number => {
    const s = stats();
    return Object.values(s.stored).reduce((a, b) => a + b, 0) + Object.values(s.refused).reduce((a, b) => a + b, 0);
  };
  const mqttUrl = stack.mqttUrl;
  if (!mqttUrl) throw new Error('the stack has no MQTT TCP listener');
  return {
    stack,
    mqttUrl,
    dataDir,
    regions,
    devices,
    senderOf(deviceId) {
      const device = devices.find((d) => d.id === deviceId);
      return device ? { registered: true, storedRegion: true, ledger: device.ledger } : { registered: false };
    },
    handled,
    refusedBy: (reason) => stats().refusedByReason[reason] ?? 0,
    handledReaches: (count) => waitUntil(`server finished ${count} messages`, () => handled() >= count, 30_000),
    async connect(username, password, clientId = username) {
      const client = mqtt.connect(mqttUrl, { clientId, username, password, reconnectPeriod: 0, connectTimeout: 5_000 });
      client.on('error', () => undefined);
      clients.push(client);
      const code = await new Promise<number>((resolve) => {
        client.once('connect', () => resolve(0));
        client.once('error', (error) => resolve((error as { code?: number }).code ?? -1));
        client.once('close', () => resolve(-1));
      });
      return { client, code };
    },
    async close() {
      await Promise.all(clients.map((c) => c.endAsync(true)));
      await stack.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
