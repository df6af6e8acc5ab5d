import Database from 'better-sqlite3';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { launcherConfigSchema } from '../../launcher/config.ts';
import { loadFleetCredentials } from '../../launcher/fleet-credentials.ts';
import { startStack, type Stack } from '../../launcher/stack.ts';
import type { Owner } from '../../schema/privacy.ts';
import { readDirectory } from '../support/sqlite-stores.ts';
import { waitUntil } from '../support/wait.ts';

const REGIONS = ['eu', 'us', 'cn'];

/** Owner rows per region store, read past the server. */
function ownerRows(dataDir: string): number {
  return REGIONS.reduce((total, region) => {
    const db = new Database(join(dataDir, `${region}.db`), { readonly: true, fileMustExist: true });
    try {
      return total + (db.prepare('SELECT COUNT(*) AS n FROM Owner').get() as { n: number }).n;
    } finally {
      db.close();
    }
  }, 0);
}

/**
 * `npm start` twice on the same data folder: the second run reuses the machines of the first and
 * they keep publishing, although the embedded broker (and its retained consent records) is new; the
 * made-up owners the first run created through the API are the same people in the second.
 */
describe('restarting the embedded stack on the same data folder', () => {
  let dataDir = '';
  let stack: Stack | undefined;

  afterAll(async () => {
    await stack?.close();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  /** One run: events stored, and each machine's owner as the API tells it. */
  const run = async (): Promise<{ stored: number; owners: Map<string, Owner> }> => {
    const config = launcherConfigSchema.parse({
      machines: 6,
      leaky: 1,
      httpPort: 0,
      mqttPort: 0,
      wsPort: null,
      dataDir,
      seed: 3,
      speed: 20_000,
      logLevel: 'silent',
    });
    stack = await startStack(config, pino({ level: 'silent' }));
    const stored = (): number => Object.values(stack?.server.stats().stored ?? {}).reduce((a, b) => a + b, 0);
    await waitUntil('events stored in this run', () => stored() >= 20, 30_000);
    const count = stored();
    const owners = new Map<string, Owner>();
    for (const machine of await loadFleetCredentials(join(dataDir, 'fleet-credentials.json'))) {
      const response = await fetch(`${stack.server.httpUrl}/api/v1/owners/${machine.ownerId}`, { headers: { authorization: `Bearer ${stack.adminToken}` } });
      expect(response.status).toBe(200);
      owners.set(machine.deviceId, (await response.json()) as Owner);
    }
    await stack.close();
    stack = undefined;
    return { stored: count, owners };
  };

  it('reuses the provisioned machines and their owners, and the machines keep publishing', async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'brewtel-restart-'));
    const first = await run();
    const firstDevices = [...readDirectory(dataDir).devices.keys()].sort();
    expect(firstDevices).toHaveLength(6);
    // Every machine, the leaky one included, has an owner of its own region, made up and owning it.
    expect([...first.owners.keys()].sort()).toEqual(firstDevices);
    for (const [deviceId, owner] of first.owners) {
      expect(owner.devices).toEqual([deviceId]);
      expect(owner.region).toBe(readDirectory(dataDir).devices.get(deviceId));
      expect(owner.contact).toMatch(/@example\.org$/);
    }
    expect(new Set([...first.owners.values()].map((o) => o.name)).size).toBe(6);
    expect(ownerRows(dataDir)).toBe(6);

    const second = await run();
    expect(second.stored).toBeGreaterThanOrEqual(20);
    expect([...readDirectory(dataDir).devices.keys()].sort()).toEqual(firstDevices);
    expect(new Map([...second.owners].map(([d, o]) => [d, o.id]))).toEqual(new Map([...first.owners].map(([d, o]) => [d, o.id])));
    expect(ownerRows(dataDir)).toBe(6);
  });
});
