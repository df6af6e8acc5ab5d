import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChildCommand } from '../../launcher/child-command.ts';
import { launcherConfigSchema } from '../../launcher/config.ts';
import { startPlane, type PlaneLayout } from '../../launcher/planes.ts';
import { createLab, labUnavailable, type Capture, type NetnsLab } from '../support/netns-lab.ts';
import { waitUntil } from '../support/wait.ts';
import type { RegionOutcome } from './device-host.ts';

/**
 * Residency in transit, proven on separate hosts: each region's plane (broker, server, store) runs in
 * a network namespace of its own and the machines in a third; every byte on each plane's interface
 * is captured while a mixed fleet runs, consent is withdrawn, an owner is erased and one plane
 * restarts. No device id, owner name, contact or pseudonym of one region may appear in another
 * region's capture, and each capture must show its own region's devices (so an empty capture
 * cannot pass).
 */
const REGIONS = ['eu', 'us'] as const;
const unavailable = await labUnavailable();
if (unavailable !== null && process.env.CI === 'true') throw new Error(`the planes lab cannot be built under CI: ${unavailable}`);

describe.skipIf(unavailable !== null)(`planes on separate hosts${unavailable ? ` (skipped: ${unavailable})` : ''}`, () => {
  let lab: NetnsLab;
  let dir = '';
  const captures = new Map<string, Capture>();
  const planes = new Map<string, ChildCommand>();
  const layouts = new Map<string, PlaneLayout>();
  const adminToken = `planes-lab-token-${process.pid}-0123456789`;
  const env = { ...process.env, BREWTEL_ADMIN_TOKEN: adminToken, BREWTEL_TOKENS: '' };
  const config = launcherConfigSchema.parse({ regions: [...REGIONS], machines: 0, logLevel: 'warn' });
  const logger = pino({ level: 'silent' });
  const startHome = async (region: string): Promise<ChildCommand> => {
    const plane = await startPlane(config, layouts.get(region)!, join(dir, 'planes'), env, logger, { launchVia: lab.via(`plane-${region}`) });
    planes.set(region, plane);
    return plane;
  };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'brewtel-planes-lab-'));
    lab = await createLab(['plane-eu', 'plane-us', 'devices']);
    for (const region of REGIONS) {
      // Ports of the plane's own host: nothing else listens in its namespace.
      layouts.set(region, { region, host: lab.hosts[`plane-${region}`]!.address, httpPort: 8080, mqttPort: 1883 });
      captures.set(region, await lab.capture(`plane-${region}`, dir));
    }
    await Promise.all(REGIONS.map(async (region) => (await startHome(region)).ready));
  }, 120_000);

  afterAll(async () => {
    await Promise.all([...planes.values()].map((plane) => plane.stop()));
    for (const capture of captures.values()) await capture.stop().catch(() => undefined);
    await lab?.teardown();
    if (dir) await rm(dir, { recursive: true, force: true });
  }, 60_000);

  it('keeps every region’s devices, events, consent and owners on its own plane, through a consent withdrawal, an erasure and a plane restart', async () => {
    const homes = REGIONS.map((region) => ({
      region,
      httpUrl: `http://${layouts.get(region)!.host}:8080`,
      mqttUrl: `mqtt://${layouts.get(region)!.host}:1883`,
    }));
    const input = { planes: homes, perRegion: 6, leakyPerRegion: 1, seconds: 8, seed: process.pid };
    const driver = spawn(
      'ip',
      ['netns', 'exec', lab.hosts.devices!.netns, process.execPath, '--import', 'tsx', 'test/planes/device-host.ts', JSON.stringify(input)],
      {
        env,
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stdout = '';
    let stderr = '';
    driver.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    driver.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    const exited = new Promise<number | null>((resolve) => driver.once('exit', (code) => resolve(code)));

    try {
      await waitUntil('the fleets to run', () => stdout.includes('fleets running') || driver.exitCode !== null, 90_000);
      // The us plane goes down and comes back while both fleets publish; eu goes on storing.
      expect(await planes.get('us')!.stop()).toBe(0);
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      await (await startHome('us')).ready;
      expect(await exited, `device host: ${stderr}`).toBe(0);
    } finally {
      driver.kill('SIGKILL');
    }
    const { outcome } = JSON.parse(stdout.trim().split('\n').at(-1)!) as { outcome: Record<string, RegionOutcome> };
    expect(stderr).toBe('');

    const pcaps = new Map<string, Buffer>();
    for (const region of REGIONS) pcaps.set(region, await readFile(await captures.get(region)!.stop()));
    captures.clear();

    for (const region of REGIONS) {
      const own = outcome[region]!;
      expect(own.listedDeviceIds.sort()).toEqual(own.deviceIds.filter((id) => id !== own.erasedDeviceId).sort());
      expect(own.stored).toBeGreaterThan(0);
      expect(own.refused).toBeGreaterThan(0);
      expect(own.consentWithdrawn).toBe(200);
      expect(own.ownerErased).toBeLessThan(300);
      const capture = pcaps.get(region)!;
      for (const id of own.deviceIds) expect(capture.includes(id), `${id} on its own plane's wire`).toBe(true);
      for (const other of REGIONS.filter((r) => r !== region)) {
        const foreign = outcome[other]!;
        const secrets = [...foreign.deviceIds, ...foreign.owners.flatMap((o) => [o.id, o.name, o.contact, o.pseudonym])];
        const leaked = secrets.filter((text) => capture.includes(text));
        expect(leaked, `${other} data seen on the ${region} plane's interface`).toEqual([]);
      }
    }
  }, 180_000);
});
