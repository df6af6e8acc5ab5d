import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { topics } from '../../schema/topics.ts';
import { startAedes } from '../server/app/aedes-broker.ts';
import { eventOf } from '../server/app/helpers.ts';
import { readRegionStore } from '../support/sqlite-stores.ts';
import { waitUntil } from '../support/wait.ts';
import { provisionDirect, spawnServer, storedTotal, type ServerProcess } from './support.ts';

const REGIONS = ['eu', 'us', 'cn'];
const TOTAL = 3_000;
const WINDOW = 100;

let dataDir: string;
let broker: Awaited<ReturnType<typeof startAedes>>;
let publisher: MqttClient | undefined;
const servers: ServerProcess[] = [];

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'brewtel-sigkill-'));
  broker = await startAedes();
});

afterAll(async () => {
  await publisher?.endAsync(true);
  for (const server of servers) await server.kill();
  await broker?.close();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

describe('a server killed with SIGKILL mid-stream', () => {
  it('loses no acknowledged event and stores none twice after a restart', async () => {
    const devices = [...(await provisionDirect(dataDir, REGIONS, 4)).keys()];
    // The broker lives in this process, so it keeps the ingest session and its queue across the kill.
    const args = ['--data-dir', dataDir, '--regions', REGIONS.join(','), '--mqtt-url', broker.url,
      '--mqtt-username', 'svc-ingest', '--mqtt-password', 'unused-by-plain-aedes', '--mqtt-client-id', 'svc-ingest-sigkill'];
    const first = await spawnServer(args);
    servers.push(first);

    publisher = await mqtt.connectAsync(broker.url, { clientId: 'sigkill-publisher', clean: true });
    const acknowledged: string[] = [];
    let sent = 0;
    const publishing = new Promise<void>((resolve, reject) => {
      const next = (): void => {
        const seq = ++sent;
        const event = eventOf('brew', devices[seq % devices.length]!, new Date(), seq);
        publisher!.publish(topics.event(event.deviceId, 'brew'), JSON.stringify(event), { qos: 1 }, (err) => {
          if (err) return reject(err);
          acknowledged.push(event.id);
          if (acknowledged.length === TOTAL) resolve();
          else if (sent < TOTAL) next();
        });
      };
      for (let i = 0; i < WINDOW; i++) next();
    });

    let storedBeforeKill = 0;
    await waitUntil('some events stored before the kill', async () => (storedBeforeKill = await storedTotal(first.httpUrl)) >= 300, 30_000);
    await first.kill();
    // Mid-stream for the server: the broker had more for it (the publisher may be done or not by now).
    expect(storedBeforeKill).toBeLessThan(TOTAL);
    await publishing;

    const second = await spawnServer(args);
    servers.push(second);
    await waitUntil('every acknowledged event stored', async () => (await storedTotal(second.httpUrl)) >= TOTAL, 30_000);
    await second.stop();
    expect(second.stderr()).not.toMatch(/"level":50/);

    const stored = REGIONS.flatMap((region) => readRegionStore(dataDir, region).events.map((e) => e.id));
    expect(stored.length).toBe(TOTAL);
    expect(new Set(stored)).toEqual(new Set(acknowledged));
  }, 90_000);
});
