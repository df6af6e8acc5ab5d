import { execFile } from 'node:child_process';
import { open, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { machineIdentityListSchema } from '../../firmware-sim/fleet-options.ts';
import type { Stack } from '../../launcher/stack.ts';
import { startEmptyStack, type EmptyStack } from '../support/empty-stack.ts';
import { deviceListResponseSchema } from '../../schema/api.ts';

/** `npm run sim` provisioning its own machines through the server's API, then running against our broker with auth on. */
describe('npm run sim with self-provisioning on the embedded stack', () => {
  let dataDir: string;
  let stack: Stack;
  let running: EmptyStack | undefined;
  beforeAll(async () => {
    running = await startEmptyStack('brewtel-sim-provision-');
    ({ stack, dataDir } = running);
  }, 60_000);
  afterAll(async () => {
    await running?.close();
  });

  it('provisions, saves the secrets owner-only, connects with them and publishes', async () => {
    const saved = join(dataDir, 'machines.json');
    // A world-readable file from before, held open by someone: the secrets must not go into it.
    await writeFile(saved, '[]\n', { mode: 0o644 });
    const earlierReader = await open(saved, 'r');
    const args = [
      '--broker',
      stack.mqttUrl,
      '--api',
      stack.server.httpUrl,
      '--machines',
      '3',
      '--regions',
      'eu,us',
      '--speed',
      '3600',
      '--duration',
      '2',
      '--seed',
      '7',
      '--save-credentials',
      saved,
    ];
    const stdout = await new Promise<string>((resolve, reject) =>
      execFile(
        process.execPath,
        ['--import', 'tsx', 'firmware-sim/cli.ts', ...args],
        { timeout: 40_000, env: { ...process.env, BREWTEL_TOKEN: stack.adminToken } },
        (error, out) => (error ? reject(error) : resolve(out)),
      ),
    );
    const last = stdout.trim().split('\n').at(-1)!;
    expect(last).toMatch(/^machines=3 connected=3 published=\d+ suppressed=\d+ failed=0 /);
    expect(Number(/published=(\d+)/.exec(last)![1])).toBeGreaterThan(0);

    expect((await stat(saved)).mode & 0o777).toBe(0o600);
    expect(await earlierReader.readFile('utf8')).toBe('[]\n');
    await earlierReader.close();
    const machines = machineIdentityListSchema.parse(JSON.parse(await readFile(saved, 'utf8')));
    const response = await fetch(`${stack.server.httpUrl}/api/v1/devices`, { headers: { authorization: `Bearer ${stack.adminToken}` } });
    const listed = deviceListResponseSchema.parse(await response.json()).devices;
    expect(machines.map((m) => [m.deviceId, m.region]).sort()).toEqual(listed.map((d) => [d.id, d.region]).sort());
    expect(new Set(machines.map((m) => m.region))).toEqual(new Set(['eu', 'us']));
  });
});
