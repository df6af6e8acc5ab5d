import { readFile, writeFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { launcherConfigSchema } from '../../launcher/config.ts';
import { readLauncherConfig } from '../../launcher/flags.ts';
import { startStack, type Stack } from '../../launcher/stack.ts';
import { readRegionStore } from '../support/sqlite-stores.ts';
import { waitUntil } from '../support/wait.ts';

const REGIONS = ['eu', 'us', 'cn'];
const MACHINES = 6;

/**
 * `npm start` with `--mqtt-version 3.1.1`, then again on the same data folder with half the machines
 * marked "3.1.1" in the credentials file and the rest on the default, MQTT 5: a mixed fleet through
 * the embedded broker into ingest (which speaks MQTT 5 either way). The broker counts its
 * connections by protocol version, so the mix is seen where it happens.
 */
describe('a fleet of MQTT 3.1.1 and MQTT 5 machines through the embedded stack', () => {
  let dataDir = '';
  let stack: Stack | undefined;

  afterAll(async () => {
    await stack?.close();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  const storedEvents = (): number => REGIONS.reduce((n, r) => n + readRegionStore(dataDir, r).events.length, 0);

  const run = async (flags: string[]): Promise<{ byProtocol: { '3.1.1': number; '5': number }; stored: number }> => {
    const parsed = readLauncherConfig(flags, {});
    if (!('config' in parsed)) throw new Error(`flags refused: ${JSON.stringify(parsed)}`);
    const config = launcherConfigSchema.parse({
      ...parsed.config,
      machines: MACHINES,
      leaky: 1,
      httpPort: 0,
      mqttPort: 0,
      wsPort: null,
      dataDir,
      regions: REGIONS,
      seed: 5,
      speed: 20_000,
      logLevel: 'silent',
    });
    stack = await startStack(config, pino({ level: 'silent' }));
    const s = stack;
    await waitUntil('every machine connected', () => s.fleet?.stats().connected === MACHINES, 20_000);
    const byProtocol = s.broker!.stats().connectionsByProtocol;
    const before = Object.values(s.server.stats().stored).reduce((a, b) => a + b, 0);
    await waitUntil('events stored in this run', () => Object.values(s.server.stats().stored).reduce((a, b) => a + b, 0) >= before + 30, 30_000);
    await s.fleet!.stop();
    const published = s.fleet!.stats().published;
    const sum = (r: Record<string, number>): number => Object.values(r).reduce((a, b) => a + b, 0);
    const accounted = (): number => sum(s.server.stats().stored) + sum(s.server.stats().refused);
    await waitUntil('ingest to account for every published event', () => accounted() >= published, 30_000).catch((error: unknown) => {
      // What was missing, and where the fleet and the broker stood, so a failure says more than "timed out".
      const fleet = s.fleet!.stats();
      throw new Error(
        `${(error as Error).message}: published ${published}, accounted ${accounted()} (${JSON.stringify(s.server.stats())}); ` +
          `fleet failed=${fleet.failed} pending=${fleet.pending} buffered=${fleet.buffered} refusals=${JSON.stringify(fleet.refusals)}; broker ${JSON.stringify(s.broker?.stats())}`,
      );
    });
    await s.close();
    stack = undefined;
    return { byProtocol, stored: storedEvents() };
  };

  it('runs on 3.1.1, then on a mixed fleet; ingest stores from both', async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'brewtel-mixed-'));
    const first = await run(['--mqtt-version', '3.1.1']);
    // The machines on 3.1.1; the server's ingest session and outbound connection on MQTT 5.
    expect(first.byProtocol).toEqual({ '3.1.1': MACHINES, '5': 2 });
    expect(first.stored).toBeGreaterThanOrEqual(30);

    const file = join(dataDir, 'fleet-credentials.json');
    const credentials = JSON.parse(await readFile(file, 'utf8')) as { version: 1; machines: Array<Record<string, unknown>> };
    credentials.machines.forEach((m, i) => {
      if (i % 2 === 0) m.mqttVersion = '3.1.1';
    });
    await writeFile(file, JSON.stringify(credentials));
    const second = await run([]);
    expect(second.byProtocol).toEqual({ '3.1.1': MACHINES / 2, '5': MACHINES / 2 + 2 });
    expect(second.stored).toBeGreaterThanOrEqual(first.stored + 30);
    // The versions stay in the file across the run (the launcher rewrites it).
    const after = JSON.parse(await readFile(file, 'utf8')) as typeof credentials;
    expect(after.machines.filter((m) => m.mqttVersion === '3.1.1')).toHaveLength(MACHINES / 2);
  }, 120_000);

  it('names the flag of a bad version', () => {
    expect(readLauncherConfig(['--mqtt-version', '3'], {})).toMatchObject({ error: expect.stringMatching(/^--mqtt-version: expected 3.1.1 or 5/) });
    expect(readLauncherConfig(['--mqtt-version', '3.1.1'], {})).toMatchObject({ config: { mqttVersion: 4 } });
    expect(readLauncherConfig([], {})).toMatchObject({ config: { mqttVersion: 5 } });
  });
});
