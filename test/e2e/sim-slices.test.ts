import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { machineIdentityListSchema, type MachineIdentity } from '../../firmware-sim/fleet-options.ts';
import { defaultUsageFor } from '../../firmware-sim/machine-model.ts';
import type { Stack } from '../../launcher/stack.ts';
import { startEmptyStack, type EmptyStack } from '../support/empty-stack.ts';
import { deviceEventsResponseSchema } from '../../schema/api.ts';
import { startChildCli, summaryFigures } from '../support/child-cli.ts';
import { waitUntil } from '../support/wait.ts';

const FLEET = 6;
const SEED = 7;
const REGIONS = ['eu', 'us', 'cn'];

/** Two `npm run sim -- --slice K/2` processes sharing one fleet, against our broker (auth on) and server. */
describe('npm run sim --slice: one fleet in two processes', () => {
  let dataDir: string;
  let stack: Stack;
  let running: EmptyStack | undefined;
  beforeAll(async () => {
    running = await startEmptyStack('brewtel-sim-slices-');
    ({ stack, dataDir } = running);
  }, 60_000);
  afterAll(async () => {
    await running?.close();
  });

  const storedEvents = async (deviceId: string): Promise<number> => {
    const response = await fetch(`${stack.server.httpUrl}/api/v1/devices/${deviceId}/events?limit=100`, {
      headers: { authorization: `Bearer ${stack.adminToken}` },
    });
    return deviceEventsResponseSchema.parse(await response.json()).events.length;
  };

  it('each slice provisions and runs its own index range; the device sets are disjoint and both store events', async () => {
    const slices = [1, 2].map((k) => {
      const saved = join(dataDir, `slice-${k}.json`);
      const child = startChildCli(
        'firmware-sim/cli.ts',
        [
          ...['--broker', stack.mqttUrl, '--api', stack.server.httpUrl, '--machines', String(FLEET), '--slice', `${k}/2`],
          ...['--seed', String(SEED), '--regions', REGIONS.join(','), '--speed', '3600', '--duration', '3', '--log-level', 'silent'],
          ...['--save-credentials', saved],
        ],
        { BREWTEL_TOKEN: stack.adminToken },
      );
      return { k, saved, child };
    });
    try {
      const machinesOf: MachineIdentity[][] = [];
      for (const { k, saved, child } of slices) {
        expect(await child.exited(60_000)).toBe(0);
        expect(child.stderr()).toContain(`slice ${k}/2: fleet indices ${(k - 1) * 3}-${k * 3 - 1} of ${FLEET} machines`);
        const figures = summaryFigures(child.stdout());
        expect(figures).toMatchObject({ machines: '3', connected: '3', failed: '0' });
        expect(Number(figures.published)).toBeGreaterThan(0);
        machinesOf.push(machineIdentityListSchema.parse(JSON.parse(await readFile(saved, 'utf8'))));
      }
      const [first, second] = machinesOf as [MachineIdentity[], MachineIdentity[]];
      const ids = [...first, ...second].map((m) => m.deviceId);
      expect(new Set(ids).size).toBe(FLEET);
      // Fleet index i, in whichever slice: the region round-robin and the usage draw of index i.
      [...first, ...second].forEach((machine, fleetIndex) => {
        expect(machine.region).toBe(REGIONS[fleetIndex % REGIONS.length]);
        expect(machine.usage).toBe(defaultUsageFor(SEED, fleetIndex));
      });
      for (const machines of [first, second]) {
        await waitUntil(
          'events of the slice stored',
          async () => (await Promise.all(machines.map((m) => storedEvents(m.deviceId)))).some((n) => n > 0),
          20_000,
          200,
        );
      }

      // The whole fleet in one credentials file: slice 2/3 takes fleet indices 2 and 3 from it.
      const fleetFile = join(dataDir, 'fleet.json');
      await writeFile(fleetFile, JSON.stringify([...first, ...second]), { mode: 0o600 });
      const third = startChildCli('firmware-sim/cli.ts', [
        ...['--broker', stack.mqttUrl, '--credentials', fleetFile, '--slice', '2/3', '--seed', String(SEED)],
        ...['--speed', '3600', '--duration', '1', '--log-level', 'silent'],
      ]);
      try {
        expect(await third.exited(60_000)).toBe(0);
        expect(third.stderr()).toContain(`slice 2/3: fleet indices 2-3 of ${FLEET} machines`);
        expect(summaryFigures(third.stdout())).toMatchObject({ machines: '2', connected: '2' });
      } finally {
        third.kill();
      }
    } finally {
      for (const { child } of slices) child.kill();
    }
  }, 90_000);
});
