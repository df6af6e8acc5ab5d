import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fleetControlResponseSchema } from '../../schema/fleet-control.ts';
import { createHarness, type Harness } from '../../launcher/harness.ts';
import { waitUntil } from '../support/wait.ts';

/** The fleet control API on a running stack, over real HTTP: what a user's own tool would call. */
describe('fleet control API (/api/v1/control)', () => {
  let h: Harness;
  const call = async (method: string, path: string, body?: unknown, token: string | null = h.adminToken): Promise<{ status: number; json: unknown }> => {
    const response = await fetch(`${h.httpUrl}${path}`, {
      method,
      headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: response.status, json: await response.json() };
  };

  beforeAll(async () => {
    h = await createHarness({ machines: 3, regions: ['eu', 'us'], seed: 3, speed: 20_000 });
  }, 60_000);
  afterAll(async () => {
    await h?.stop();
  });

  it('lists the machines, then drops every event of one chosen machine from now on, and counts it', async () => {
    const fleet = fleetControlResponseSchema.parse((await call('GET', '/api/v1/control/fleet')).json);
    expect(fleet.machines.map((m) => m.deviceId).sort()).toEqual(h.machines.map((m) => m.deviceId).sort());
    // A machine that publishes (a demo machine's consent may allow it nothing at all).
    const storedOf = async (m: { deviceId: string; region: string }): Promise<number> =>
      (await h.storedEvents({ region: m.region, deviceId: m.deviceId })).length;
    await h.waitForStored({ count: 10, timeoutMs: 20_000 });
    const counts = await Promise.all(h.machines.map(storedOf));
    const chosen = h.machines[counts.indexOf(Math.max(...counts))]!.deviceId;
    expect(await call('PUT', '/api/v1/control/faults', { devices: [chosen], rates: { drop: 1 } })).toEqual({ status: 200, json: { machines: 1 } });
    const dropped = async (): Promise<number> => fleetControlResponseSchema.parse((await call('GET', '/api/v1/control/fleet')).json).injected.drop ?? 0;
    await waitUntil('a dropped event counted', async () => (await dropped()) > 0, 20_000);
    // From here on nothing of the chosen machine is stored, however many more it drops.
    const machine = h.machines.find((m) => m.deviceId === chosen)!;
    const frozen = await storedOf(machine);
    const droppedSoFar = await dropped();
    await waitUntil('more dropped events', async () => (await dropped()) >= droppedSoFar + 3, 20_000);
    expect(await storedOf(machine)).toBe(frozen);
    expect(await call('PUT', '/api/v1/control/faults', { rates: {} })).toEqual({ status: 200, json: { machines: 3 } });
  }, 60_000);

  it('stops every brew with a brew rate of 0, and brings them back with a higher one', async () => {
    expect(await call('PUT', '/api/v1/control/rates', { brewRate: 0 })).toEqual({ status: 200, json: { machines: 3 } });
    // A brew already under way may still end; give it a moment, then no new one starts.
    await new Promise((resolve) => setTimeout(resolve, 500));
    const brews = await h.countStored({ kind: 'brew' });
    // Two seconds at x20,000 are eleven simulated hours: a fleet at its profiled rate brews many times in them.
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    expect(await h.countStored({ kind: 'brew' })).toBe(brews);
    expect(await call('PUT', '/api/v1/control/rates', { brewRate: 5 })).toEqual({ status: 200, json: { machines: 3 } });
    await waitUntil('brews again', async () => (await h.countStored({ kind: 'brew' })) > brews, 20_000);
    expect(await call('PUT', '/api/v1/control/rates', { devices: ['cm-notinthisfleet0'], brewRate: 1 })).toMatchObject({
      status: 404,
      json: { code: 'NOT_FOUND' },
    });
    expect(await call('PUT', '/api/v1/control/rates', { brewRate: -1 })).toMatchObject({ status: 400, json: { code: 'VALIDATION_FAILED' } });
  }, 60_000);

  it('answers coded errors: an unknown machine, rates over 1, no token', async () => {
    const unknown = await call('PUT', '/api/v1/control/faults', { devices: ['cm-notinthisfleet0'], rates: { drop: 0.1 } });
    expect(unknown).toMatchObject({ status: 404, json: { code: 'NOT_FOUND', message: expect.stringContaining('cm-notinthisfleet0') } });
    expect(await call('PUT', '/api/v1/control/faults', { rates: { drop: 0.8, duplicate: 0.5 } })).toMatchObject({
      status: 400,
      json: { code: 'VALIDATION_FAILED' },
    });
    expect(await call('GET', '/api/v1/control/fleet', undefined, null)).toMatchObject({ status: 401, json: { code: 'UNAUTHORIZED' } });
  });

  it('says so when no fleet runs in the process', async () => {
    await using bare = await createHarness({ machines: 0, regions: ['eu'] });
    const response = await fetch(`${bare.httpUrl}/api/v1/control/fleet`, { headers: { authorization: `Bearer ${bare.adminToken}` } });
    expect(response.status).toBe(409);
    expect(await response.json()).toMatchObject({ code: 'FLEET_NOT_RUNNING' });
  }, 30_000);
});
