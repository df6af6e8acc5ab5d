import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { brewBodySchema, faultBodySchema, locationBodySchema, paymentBodySchema, statusBodySchema, type EventKind } from '../../schema/events.ts';
import { launcherConfigSchema } from '../../launcher/config.ts';
import { startStack, type Stack } from '../../launcher/stack.ts';
import { readDirectory, readRegionStore } from '../support/sqlite-stores.ts';
import { waitUntil } from '../support/wait.ts';

/**
 * The walking skeleton's promise, checked from the stores themselves: a fleet over three regions,
 * run until 1,000 events are stored; every event sits in its device's home-region store and no other;
 * stored = published - refused; nothing refused left a body behind.
 */
const REGIONS = ['eu', 'us', 'cn'];
const BODY_SCHEMAS = { brew: brewBodySchema, location: locationBodySchema, payment: paymentBodySchema, status: statusBodySchema, fault: faultBodySchema };

describe('the whole path on the embedded default', () => {
  let dataDir: string;
  let stack: Stack;
  let published = 0;

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'brewtel-e2e-'));
    const config = launcherConfigSchema.parse({
      machines: 33,
      leaky: 3,
      httpPort: 0,
      mqttPort: 0,
      wsPort: 0,
      dataDir,
      regions: REGIONS,
      seed: 7,
      speed: 20_000,
      logLevel: 'silent',
    });
    stack = await startStack(config, pino({ level: 'silent' }));
    const storedTotal = (): number => Object.values(stack.server.stats().stored).reduce((a, b) => a + b, 0);
    await waitUntil('1,000 stored events', () => storedTotal() >= 1000, 90_000);
    const fleet = stack.fleet;
    if (!fleet) throw new Error('the stack started no fleet');
    await fleet.stop();
    published = fleet.stats().published;
    // Every acknowledged event has been through ingest once the server has accounted for all of them.
    await waitUntil(
      'ingest to account for every published event',
      () => {
        const { stored, refused } = stack.server.stats();
        const sum = (r: Record<string, number>): number => Object.values(r).reduce((a, b) => a + b, 0);
        return sum(stored) + sum(refused) >= published;
      },
      30_000,
    );
  }, 180_000);

  afterAll(async () => {
    await stack?.close();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it('stores at least 1,000 events, each in its home region and no other', () => {
    const { devices } = readDirectory(dataDir);
    let total = 0;
    for (const region of REGIONS) {
      const { events } = readRegionStore(dataDir, region);
      total += events.length;
      const foreign = events.filter((e) => devices.get(e.deviceId) !== region);
      expect(foreign, `events of other regions' devices in ${region}`).toEqual([]);
    }
    expect(total).toBeGreaterThanOrEqual(1000);
    // Every region got traffic: the fleet really is spread.
    for (const region of REGIONS) expect(readRegionStore(dataDir, region).events.length).toBeGreaterThan(0);
  });

  it('stores exactly what was published minus what was refused, each event once', () => {
    const stores = REGIONS.map((r) => readRegionStore(dataDir, r));
    const stored = stores.reduce((n, s) => n + s.events.length, 0);
    // Refusals past a device's hourly quarantine cap leave no row; the server counts them instead.
    const suppressed = Object.values(stack.server.stats().quarantineSuppressed).reduce((a, b) => a + b, 0);
    const refused = stores.reduce((n, s) => n + s.refusals.length, 0) + readDirectory(dataDir).unroutedRefusals + suppressed;
    expect(refused, 'the leaky machines must have been refused').toBeGreaterThan(0);
    expect(stored).toBe(published - refused);
    const ids = stores.flatMap((s) => s.events.map((e) => e.id));
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('keeps no body of a refused event', () => {
    const stores = REGIONS.map((r) => readRegionStore(dataDir, r));
    const storedIds = new Set(stores.flatMap((s) => s.events.map((e) => e.id)));
    const refusedIds = stores.flatMap((s) => s.refusals.map((r) => r.eventId)).filter((id): id is string => id !== null);
    expect(refusedIds.filter((id) => storedIds.has(id))).toEqual([]);
    // By default the quarantine records the refusal, not what was refused.
    expect(stores.flatMap((s) => s.refusals).filter((r) => r.payload !== null)).toEqual([]);
    // What the leaky firmware tried to send (owner names, card data) cannot hide in a stored body:
    // every stored body passes its kind's strict schema, which admits no field beyond the contract.
    const offContract = stores.flatMap((s) => s.events).filter((e) => !BODY_SCHEMAS[e.kind as EventKind].safeParse(JSON.parse(e.body)).success);
    expect(offContract).toEqual([]);
  });

  it('reports the same counts over the API as the stores hold', async () => {
    const response = await fetch(`${stack.server.httpUrl}/api/v1/regions`, { headers: { authorization: `Bearer ${stack.adminToken}` } });
    expect(response.status).toBe(200);
    const body = (await response.json()) as { regions: { region: string; stored: number; refused: number }[] };
    for (const region of REGIONS) {
      const fromStore = readRegionStore(dataDir, region);
      expect(body.regions.find((r) => r.region === region)).toMatchObject({ stored: fromStore.events.length, refused: fromStore.refusals.length });
    }
  });
});
