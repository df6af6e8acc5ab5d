import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { launcherConfigSchema } from '../../launcher/config.ts';
import { startStack, type Stack } from '../../launcher/stack.ts';
import { readDirectory } from '../support/sqlite-stores.ts';
import { waitUntil } from '../support/wait.ts';

/**
 * `npm start` twice on the same data folder: the second run reuses the machines of the first and
 * they keep publishing, although the embedded broker (and its retained consent records) is new.
 */
describe('restarting the embedded stack on the same data folder', () => {
  let dataDir = '';
  let stack: Stack | undefined;

  afterAll(async () => {
    await stack?.close();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  const run = async (): Promise<number> => {
    const config = launcherConfigSchema.parse({
      machines: 6, leaky: 0, httpPort: 0, mqttPort: 0, wsPort: null, dataDir, seed: 3, speed: 20_000, logLevel: 'silent',
    });
    stack = await startStack(config, pino({ level: 'silent' }));
    const stored = (): number => Object.values(stack?.server.stats().stored ?? {}).reduce((a, b) => a + b, 0);
    await waitUntil('events stored in this run', () => stored() >= 20, 30_000);
    const count = stored();
    await stack.close();
    stack = undefined;
    return count;
  };

  it('reuses the provisioned machines and they keep publishing', async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'brewtel-restart-'));
    await run();
    const firstDevices = [...readDirectory(dataDir).devices.keys()].sort();
    expect(firstDevices).toHaveLength(6);
    expect(await run()).toBeGreaterThanOrEqual(20);
    expect([...readDirectory(dataDir).devices.keys()].sort()).toEqual(firstDevices);
  });
});
