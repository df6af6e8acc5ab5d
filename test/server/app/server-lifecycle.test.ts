import { createServer, type AddressInfo, type Server } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { provisionDeviceResponseSchema } from '../../../schema/api.ts';
import { topics } from '../../../schema/topics.ts';
import { serverConfigSchema, type ServerConfigInput } from '../../../server/config.ts';
import { PortInUseError } from '../../../server/port-in-use-error.ts';
import { startServer, type RunningServer } from '../../../server/server.ts';
import { startAedes } from './aedes-broker.ts';
import { eventOf, eventually } from './helpers.ts';

const logger = pino({ level: 'silent' });
const ADMIN = 'admin-token-0123456789abcdef';

let dataDir: string;
let broker: Awaited<ReturnType<typeof startAedes>>;
const running: RunningServer[] = [];
let blocker: Server | undefined;

function config(overrides: Partial<ServerConfigInput> = {}) {
  return serverConfigSchema.parse({
    regions: ['eu', 'us'],
    dataDir,
    http: { port: 0 },
    mqtt: { url: broker.url, username: 'svc-ingest', password: 'unused-by-plain-aedes', clientId: 'lifecycle-ingest' },
    adminToken: ADMIN,
    brokerToken: 'broker-token-0123456789abcdef',
    ingest: { drainTimeoutMs: 1_000 },
    ...overrides,
  });
}

async function start(overrides: Partial<ServerConfigInput> = {}): Promise<RunningServer> {
  const server = await startServer(config(overrides), logger);
  running.push(server);
  return server;
}

beforeEach(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'brewtel-lifecycle-'));
  broker = await startAedes();
});

afterEach(async () => {
  for (const server of running.splice(0)) await server.close();
  if (blocker) await new Promise((resolve) => blocker!.close(resolve));
  blocker = undefined;
  await broker.close();
  await rm(dataDir, { recursive: true, force: true });
});

describe('server lifecycle', () => {
  it('rejects with PortInUseError naming the port when the HTTP port is taken', async () => {
    blocker = createServer();
    await new Promise<void>((resolve) => blocker!.listen(0, '127.0.0.1', resolve));
    const { port } = blocker.address() as AddressInfo;
    const failure = await start({ http: { port } }).catch((err: unknown) => err);
    expect(failure).toBeInstanceOf(PortInUseError);
    expect(failure).toMatchObject({ port, code: 'EADDRINUSE' });
  });

  it('keeps its broker session: events published while it is down are stored after restart', async () => {
    const first = await start();
    await first.whenIngestReady();
    const response = await fetch(`${first.httpUrl}/api/v1/devices`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ region: 'us', consent: { usage: true, location: 'none', payment: false, diagnostics: false } }),
    });
    const device = provisionDeviceResponseSchema.parse(await response.json());
    await first.close();
    running.splice(running.indexOf(first), 1);

    const at = new Date(Date.now() + 1_000);
    const events = [1, 2, 3, 4, 5].map((seq) => eventOf('brew', device.id, at, seq));
    const publisher = await mqtt.connectAsync(broker.url, { clientId: device.id });
    try {
      for (const event of events) await publisher.publishAsync(topics.event(device.id, 'brew'), JSON.stringify(event), { qos: 1 });
    } finally {
      await publisher.endAsync();
    }

    const second = await start();
    await eventually(() => expect(second.stats().stored).toEqual({ eu: 0, us: 5 }));
    const listed = await fetch(`${second.httpUrl}/api/v1/devices/${device.id}/events`, { headers: { authorization: `Bearer ${ADMIN}` } });
    const body = (await listed.json()) as { events: { id: string }[] };
    expect(body.events.map((e) => e.id).sort()).toEqual(events.map((e) => e.id).sort());
  });

  it('closes promptly when the broker has gone away', async () => {
    const server = await start();
    await server.whenIngestReady();
    await broker.close();
    broker = await startAedes();
    await server.close();
    running.splice(running.indexOf(server), 1);
  });
});
