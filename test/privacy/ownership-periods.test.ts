import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ownerExportSchema, type Owner, type OwnerExport } from '../../schema/privacy.ts';
import { topics } from '../../schema/topics.ts';
import { ALL_CONSENT, eventOf, eventually } from '../server/app/helpers.ts';
import { sql } from './direct-db.ts';
import { ADMIN, postgresAvailable, startPrivacyStack, type PrivacyStack, type StoreFlavour } from './fixture.ts';

const withPostgres = await postgresAvailable();

/**
 * Devices that change hands: each owner's export holds their own period only, and each owner's
 * erasure reaches their period only, whether they are the device's previous or its current owner.
 */
describe.each<StoreFlavour>(['sqlite', ...(withPostgres ? (['postgres'] as const) : [])])('ownership periods on %s', (flavour) => {
  let stack: PrivacyStack;
  let device: MqttClient;
  const owners: Record<'p' | 'a' | 'q' | 'b', Owner> = {} as Record<'p' | 'a' | 'q' | 'b', Owner>;
  /** Event ids stored per owner, and their quarantined messages' markers. */
  const eventsOf: Record<string, string[]> = { p: [], a: [], q: [], b: [] };
  const refusedOf: Record<string, string[]> = { p: [], a: [], q: [], b: [] };
  let firstDevice = '';
  let secondDevice = '';
  const count = async (statement: string): Promise<number> => Number((await sql<{ n: number | string }>(stack.storeUrls.eu!, statement))[0]!.n);
  let expectedEvents = 0;
  let expectedRefusals = 0;

  async function use(deviceId: string, owner: 'p' | 'a' | 'q' | 'b', events: number): Promise<void> {
    for (let i = 0; i < events; i++) {
      const event = eventOf('brew', deviceId, new Date(), i + 1);
      eventsOf[owner]!.push(event.id);
      await device.publishAsync(topics.event(deviceId, 'brew'), JSON.stringify(event), { qos: 1 });
    }
    const marker = `broken-${owner}-${deviceId}`;
    refusedOf[owner]!.push(marker);
    await device.publishAsync(topics.event(deviceId, 'brew'), `{"${marker}": `, { qos: 1 });
    expectedEvents += events;
    expectedRefusals += 1;
    await eventually(async () => {
      expect(await count('SELECT COUNT(*) AS n FROM "Event"')).toBe(expectedEvents);
      expect(await count('SELECT COUNT(*) AS n FROM "Refusal"')).toBe(expectedRefusals);
    });
  }

  const attach = async (owner: Owner, deviceId: string): Promise<void> => {
    expect((await stack.api('POST', `/api/v1/owners/${owner.id}/devices`, ADMIN, { deviceId })).status).toBe(200);
  };

  async function exportOf(owner: Owner): Promise<OwnerExport> {
    const response = await stack.api('GET', `/api/v1/owners/${owner.id}/export`, ADMIN);
    expect(response.status).toBe(200);
    return ownerExportSchema.parse(response.json);
  }

  const payloadsOf = (document: OwnerExport): string[] =>
    document.devices.flatMap((d) => (d.quarantine ?? []).map((r) => Buffer.from(r.payloadBase64 ?? '', 'base64').toString('utf8')));

  beforeAll(async () => {
    stack = await startPrivacyStack(flavour, { ingest: { quarantinePayloads: true, lingerMs: 0, drainTimeoutMs: 1_000 } });
    device = await mqtt.connectAsync(stack.brokerUrl, { clientId: `ownership-${flavour}-${Date.now()}` });
    for (const key of ['p', 'a', 'q', 'b'] as const) {
      owners[key] = (await stack.api('POST', '/api/v1/owners', ADMIN, { region: 'eu', name: `Owner ${key}`, contact: `${key}@periods.example` })).json as Owner;
    }
    for (const target of ['first', 'second'] as const) {
      const id = ((await stack.api('POST', '/api/v1/devices', ADMIN, { region: 'eu', consent: ALL_CONSENT })).json as { id: string }).id;
      if (target === 'first') firstDevice = id;
      else secondDevice = id;
    }
    // The first device goes from p to a, the second from q to b.
    await attach(owners.p, firstDevice);
    await use(firstDevice, 'p', 3);
    await attach(owners.a, firstDevice);
    await use(firstDevice, 'a', 2);
    await attach(owners.q, secondDevice);
    await use(secondDevice, 'q', 2);
    await attach(owners.b, secondDevice);
    await use(secondDevice, 'b', 4);
  }, 90_000);

  afterAll(async () => {
    await device?.endAsync();
    await stack?.close();
  });

  it("gives each owner's export the events and quarantine of their own period only", async () => {
    for (const [key, deviceId] of [
      ['p', firstDevice],
      ['a', firstDevice],
      ['q', secondDevice],
      ['b', secondDevice],
    ] as const) {
      const document = await exportOf(owners[key]);
      expect(document.devices.map((d) => d.id)).toEqual([deviceId]);
      expect(document.devices[0]!.events.map((e) => e.id).sort()).toEqual([...eventsOf[key]!].sort());
      expect(payloadsOf(document).map((p) => p.slice(2, -3))).toEqual(refusedOf[key]);
      // Why each was refused travels with it: fixed words, no payload text.
      expect(document.devices[0]!.quarantine!.every((r) => r.explanation?.findings[0]?.problem === 'not JSON')).toBe(true);
      expect(document.devices[0]!.consentHistory.map((c) => c.version)).toEqual([1]);
    }
    const [previous] = (await exportOf(owners.p)).devices;
    const [current] = (await exportOf(owners.a)).devices;
    expect(previous!.ownership).toEqual([{ from: new Date(0).toISOString(), to: current!.ownership![0]!.from }]);
    expect(current!.ownership![0]!.to).toBeNull();
    // The current owner sees the device as theirs, the previous one no longer.
    expect(((await stack.api('GET', `/api/v1/owners/${owners.a.id}`, ADMIN)).json as Owner).devices).toEqual([firstDevice]);
    expect(((await stack.api('GET', `/api/v1/owners/${owners.p.id}`, ADMIN)).json as Owner).devices).toEqual([]);
  });

  it("erases a previous owner's period and nothing of the current owner's; the device keeps working", async () => {
    const erased = await stack.api('DELETE', `/api/v1/owners/${owners.p.id}`, ADMIN);
    expect(erased).toMatchObject({ status: 200, json: { tombstoned: [], erased: { owners: 1, devices: 0, events: 3, refusals: 1, consentRecords: 0 } } });
    const left = (await sql<{ id: string }>(stack.storeUrls.eu!, `SELECT "id" FROM "Event" WHERE "deviceId" = '${firstDevice}'`)).map((r) => r.id);
    expect(left.sort()).toEqual([...eventsOf.a!].sort());
    const anonymous = await sql<{ ownerPseudonym: string | null }>(
      stack.storeUrls.eu!,
      `SELECT "ownerPseudonym" FROM "OwnershipPeriod" WHERE "deviceId" = '${firstDevice}' ORDER BY "startedAt"`,
    );
    expect(anonymous.map((r) => r.ownerPseudonym)).toEqual([null, owners.a.pseudonym]);
    expectedEvents -= 3;
    expectedRefusals -= 1;
    await use(firstDevice, 'a', 1);
    const document = await exportOf(owners.a);
    expect(document.devices[0]!.events.map((e) => e.id).sort()).toEqual([...eventsOf.a!].sort());
    expect(payloadsOf(document).map((p) => p.slice(2, -3))).toEqual(refusedOf.a);
  });

  it("erases a current owner's period, tombstoning the device, and keeps the previous owner's until they are erased too", async () => {
    const erased = await stack.api('DELETE', `/api/v1/owners/${owners.b.id}`, ADMIN);
    expect(erased).toMatchObject({
      status: 200,
      json: { tombstoned: [secondDevice], erased: { owners: 1, devices: 1, events: 4, refusals: 1, consentRecords: 0 } },
    });
    const left = (await sql<{ id: string }>(stack.storeUrls.eu!, `SELECT "id" FROM "Event" WHERE "deviceId" = '${secondDevice}'`)).map((r) => r.id);
    expect(left.sort()).toEqual([...eventsOf.q!].sort());
    // The previous owner still has their period, with the consent their events were stored under.
    const document = await exportOf(owners.q);
    expect(document.devices[0]!.events.map((e) => e.id).sort()).toEqual([...eventsOf.q!].sort());
    expect(document.devices[0]!.consentHistory.map((c) => c.version)).toEqual([1]);

    const last = await stack.api('DELETE', `/api/v1/owners/${owners.q.id}`, ADMIN);
    // The device is gone and now holds no event: its ledger and the rest of its quarantine go with the last owner's data.
    expect(last).toMatchObject({ status: 200, json: { tombstoned: [], erased: { owners: 1, devices: 0, events: 2, refusals: 1, consentRecords: 1 } } });
    expect(await count(`SELECT COUNT(*) AS n FROM "Event" WHERE "deviceId" = '${secondDevice}'`)).toBe(0);
    expect(await count(`SELECT COUNT(*) AS n FROM "ConsentRecord" WHERE "deviceId" = '${secondDevice}'`)).toBe(0);
    const report = (await stack.api('GET', '/api/v1/compliance', ADMIN)).json as { totals: { unconsentedRows: number } };
    expect(report.totals.unconsentedRows).toBe(0);
  });
});
