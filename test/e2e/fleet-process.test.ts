import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { fleetControlResponseSchema } from '../../schema/fleet-control.ts';
import { launcherConfigSchema } from '../../launcher/config.ts';
import { startFleetProcess } from '../../launcher/fleet-child.ts';
import { startStack, type Stack } from '../../launcher/stack.ts';
import { startChildCli, summaryFigures } from '../support/child-cli.ts';
import { waitUntil } from '../support/wait.ts';

/** Child processes of `pid` running the fleet (firmware-sim/fleet-process.ts), read from /proc. */
function fleetProcessesOf(pid: number): number[] {
  const children = readdirSync(`/proc/${pid}/task`).flatMap((task) => {
    try {
      return readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
    } catch {
      return [];
    }
  });
  return children.filter((child) => {
    try {
      return readFileSync(`/proc/${child}/cmdline`, 'utf8').includes('fleet-process');
    } catch {
      return false;
    }
  });
}

/** Running, that is: a process that exited but was not reaped yet (a zombie) counts as gone. */
const alive = (pid: number): boolean => {
  try {
    return !/^\S+ \(.*\) Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
};

const sum = (counts: Record<string, number>): number => Object.values(counts).reduce((a, b) => a + b, 0);

/** `npm start`'s demo fleet in a process of its own (launcher/fleet-child.ts), driven through the stack and its HTTP API. */
describe('the demo fleet in its own process', () => {
  let dataDir = '';
  let stack: Stack | undefined;
  afterAll(async () => {
    await stack?.close();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it('connects, stores, takes fault injection through the fleet control API, and stops with final counts and no process left', async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'brewtel-fleet-process-'));
    const config = launcherConfigSchema.parse({
      machines: 4,
      leaky: 1,
      regions: ['eu', 'us'],
      seed: 9,
      speed: 20_000,
      httpPort: 0,
      mqttPort: 0,
      wsPort: null,
      dataDir,
      logLevel: 'silent',
    });
    stack = await startStack(config, pino({ level: 'silent' }), { launchFleet: startFleetProcess, demoOwners: false });
    const s = stack;
    const [fleetPid] = fleetProcessesOf(process.pid);
    expect(fleetPid).toBeDefined();
    const fleet = s.fleet!;
    await waitUntil('every machine connected', () => fleet.stats().connected === 4, 20_000);
    await waitUntil('events stored', () => sum(s.server.stats().stored) >= 10, 30_000);

    const call = async (method: string, path: string, body?: unknown): Promise<{ status: number; json: unknown }> => {
      const response = await fetch(`${s.server.httpUrl}${path}`, {
        method,
        headers: { authorization: `Bearer ${s.adminToken}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      return { status: response.status, json: await response.json() };
    };
    const listed = fleetControlResponseSchema.parse((await call('GET', '/api/v1/control/fleet')).json);
    expect(listed.machines.map((m) => m.deviceId)).toEqual(fleet.machines().map((m) => m.deviceId));
    // Checked in this process against the machine list, answered before anything reaches the fleet.
    expect(await call('PUT', '/api/v1/control/faults', { devices: ['cm-notinthisfleet0'], rates: { drop: 1 } })).toMatchObject({
      status: 404,
      json: { code: 'NOT_FOUND' },
    });
    expect(() => fleet.setBrewRate(1, ['cm-notinthisfleet0'])).toThrow(/not machines of this fleet/);
    // Every event of every machine dropped from now on: only the fleet process can count that.
    expect(await call('PUT', '/api/v1/control/faults', { rates: { drop: 1 } })).toEqual({ status: 200, json: { machines: 4 } });
    const dropped = async (): Promise<number> => fleetControlResponseSchema.parse((await call('GET', '/api/v1/control/fleet')).json).injected.drop ?? 0;
    await waitUntil('dropped events counted by the fleet process', async () => (await dropped()) >= 5, 20_000);
    expect(await call('PUT', '/api/v1/control/faults', { rates: {} })).toEqual({ status: 200, json: { machines: 4 } });

    await fleet.stop();
    const final = fleet.stats();
    expect(final.connected).toBe(0);
    expect(final.pending).toBe(0);
    expect(final.published).toBeGreaterThan(0);
    expect(alive(fleetPid!)).toBe(false);
    expect(fleetProcessesOf(process.pid)).toEqual([]);
    // The final counts are the fleet's own: ingest accounts for every event it acknowledged.
    await waitUntil(
      'ingest to account for every published event',
      () => sum(s.server.stats().stored) + sum(s.server.stats().refused) >= final.published,
      30_000,
    );
    await s.close();
    stack = undefined;
  }, 90_000);
});

/** `npm start` as a user runs it: the fleet's process ends with it, asked (Ctrl-C) or not (the parent killed). */
describe('npm start and its fleet process', () => {
  let dataDir = '';
  beforeEach(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'brewtel-start-fleet-'));
  });
  afterEach(async () => {
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });
  const launch = (): ReturnType<typeof startChildCli> =>
    startChildCli('launcher/main.ts', [
      '--http-port',
      '0',
      '--mqtt-port',
      '0',
      '--ws-port',
      'off',
      '--data-dir',
      dataDir,
      '--machines',
      '6',
      '--speed',
      '20000',
    ]);

  it('Ctrl-C: the summary with the final counts, exit 0, the fleet process gone', async () => {
    const cli = launch();
    try {
      await cli.waitFor(/\] published [1-9]\d* \| stored/);
      const [fleetPid] = fleetProcessesOf(cli.pid);
      expect(fleetPid).toBeDefined();
      cli.signal('SIGINT');
      expect(await cli.exited()).toBe(0);
      const figures = summaryFigures(cli.stdout());
      expect(figures.connected).toBe('6');
      expect(Number(figures.published)).toBeGreaterThan(0);
      expect(Number(figures.stored) + Number(figures.refused)).toBe(Number(figures.published));
      expect(alive(fleetPid!)).toBe(false);
    } finally {
      cli.kill();
    }
  }, 90_000);

  it('the parent killed: the fleet process notices and exits by itself', async () => {
    const cli = launch();
    try {
      await cli.waitFor(/\] published [1-9]\d* \| stored/);
      const [fleetPid] = fleetProcessesOf(cli.pid);
      expect(fleetPid).toBeDefined();
      cli.signal('SIGKILL');
      await cli.exited();
      await waitUntil('the orphaned fleet process to exit', () => !alive(fleetPid!), 20_000);
    } finally {
      cli.kill();
    }
  }, 90_000);
});
