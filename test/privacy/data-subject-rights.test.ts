import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ownerExportSchema, type Owner } from '../../schema/privacy.ts';
import { topics } from '../../schema/topics.ts';
import { ALL_CONSENT, eventOf, eventually } from '../server/app/helpers.ts';
import { everyRowAsText, sql } from './direct-db.ts';
import { ADMIN, AUDITOR, OPERATOR_US, postgresAvailable, startPrivacyStack, type PrivacyStack, type StoreFlavour } from './fixture.ts';

const withPostgres = await postgresAvailable();

/** Owners, export, erasure, device deletion and the audit chain, on SQLite and on PostgreSQL. */
describe.each<StoreFlavour>(['sqlite', ...(withPostgres ? (['postgres'] as const) : [])])('data-subject rights on %s', (flavour) => {
  let stack: PrivacyStack;
  let device: MqttClient;
  const names = { alice: 'Alice Examplewoman', bob: 'Bob Testperson' };
  const contacts = { alice: 'alice@example.test', bob: '+1 555 0100 bob' };
  let alice: Owner;
  let bob: Owner;
  const devicesOf: Record<'alice' | 'bob', string[]> = { alice: [], bob: [] };
  const published = new Map<string, string[]>();

  async function provisionFor(owner: Owner, key: 'alice' | 'bob'): Promise<string> {
    const created = await stack.api('POST', '/api/v1/devices', ADMIN, { region: 'eu', consent: ALL_CONSENT });
    const id = (created.json as { id: string }).id;
    expect((await stack.api('POST', `/api/v1/owners/${owner.id}/devices`, ADMIN, { deviceId: id })).status).toBe(200);
    devicesOf[key].push(id);
    return id;
  }

  async function publishBrews(deviceId: string, count: number): Promise<string[]> {
    const ids: string[] = [];
    for (let i = 0; i < count; i++) {
      const event = eventOf('brew', deviceId, new Date(), i + 1);
      ids.push(event.id);
      await device.publishAsync(topics.event(deviceId, 'brew'), JSON.stringify(event), { qos: 1 });
    }
    published.set(deviceId, [...(published.get(deviceId) ?? []), ...ids]);
    return ids;
  }

  beforeAll(async () => {
    stack = await startPrivacyStack(flavour);
    device = await mqtt.connectAsync(stack.brokerUrl, { clientId: `privacy-device-${flavour}` });
    alice = (await stack.api('POST', '/api/v1/owners', ADMIN, { region: 'eu', name: names.alice, contact: contacts.alice })).json as Owner;
    bob = (await stack.api('POST', '/api/v1/owners', ADMIN, { region: 'eu', name: names.bob, contact: contacts.bob })).json as Owner;
    for (const id of [await provisionFor(alice, 'alice'), await provisionFor(alice, 'alice'), await provisionFor(bob, 'bob')]) await publishBrews(id, 3);
    await eventually(async () => {
      const rows = await sql<{ n: number | string }>(stack.storeUrls.eu!, 'SELECT COUNT(*) AS n FROM "Event"');
      expect(Number(rows[0]!.n)).toBe(9);
    });
  }, 60_000);

  afterAll(async () => {
    await device?.endAsync();
    await stack?.close();
  });

  it('refers to owners by a pseudonym and keeps names out of every table, Owner included (sealed there)', async () => {
    expect(alice.pseudonym).toMatch(/^ps-[0-9a-f]{32}$/);
    const devices = await sql<{ ownerPseudonym: string }>(stack.storeUrls.eu!, `SELECT "ownerPseudonym" FROM "Device" WHERE "id" = '${devicesOf.alice[0]}'`);
    expect(devices[0]!.ownerPseudonym).toBe(alice.pseudonym);
    const everything = await everyRowAsText(stack.storeUrls.eu!);
    for (const plain of [names.alice, contacts.alice]) expect(everything).not.toContain(plain);
    expect(everything).toContain(alice.id);
  });

  it("exports exactly the owner's data and nothing of another owner", async () => {
    const response = await stack.api('GET', `/api/v1/owners/${alice.id}/export`, ADMIN);
    expect(response.status).toBe(200);
    const document = ownerExportSchema.parse(response.json);
    expect(document.owner).toMatchObject({ id: alice.id, name: names.alice, contact: contacts.alice });
    expect(document.devices.map((d) => d.id).sort()).toEqual([...devicesOf.alice].sort());
    for (const d of document.devices) {
      expect(d.events.map((e) => e.id).sort()).toEqual([...published.get(d.id)!].sort());
      expect(d.consentHistory[0]).toMatchObject({ version: 1, actor: 'admin', channel: 'provisioning' });
    }
    expect(document.audit.some((a) => a.action === 'owner.export' && a.target === alice.id)).toBe(true);
    const text = JSON.stringify(document);
    for (const leaked of [names.bob, contacts.bob, bob.id, ...devicesOf.bob, ...published.get(devicesOf.bob[0]!)!]) expect(text).not.toContain(leaked);
  });

  it('refuses a regional operator of another region', async () => {
    expect(await stack.api('GET', `/api/v1/owners/${alice.id}/export`, OPERATOR_US)).toMatchObject({ status: 403, json: { code: 'REGION_FORBIDDEN' } });
    expect(await stack.api('DELETE', `/api/v1/owners/${alice.id}`, OPERATOR_US)).toMatchObject({ status: 403, json: { code: 'REGION_FORBIDDEN' } });
  });

  it('erases the owner: no row of theirs in any table, tombstones left, redelivery refused', async () => {
    const wipes: string[] = [];
    const clearedConsent: string[] = [];
    device.on('message', (topic, payload) => {
      if (topic.endsWith('/cmd/wipe-local-data')) wipes.push(topic);
      else if (topic.endsWith('/consent') && payload.length === 0) clearedConsent.push(topic);
    });
    await device.subscribeAsync([`coffee/v1/+/cmd/wipe-local-data`, 'coffee/v1/+/consent'], { qos: 1 });
    const erased = await stack.api('DELETE', `/api/v1/owners/${alice.id}`, ADMIN);
    expect(erased.status).toBe(200);
    expect(erased.json).toMatchObject({ region: 'eu', erased: { owners: 1, devices: 2, events: 6, consentRecords: 2 } });

    const euText = await everyRowAsText(stack.storeUrls.eu!);
    for (const value of [names.alice, contacts.alice, ...devicesOf.alice.flatMap((d) => published.get(d)!)]) expect(euText).not.toContain(value);
    const tombstones = await sql<{ deviceId: string; ownerPseudonym: string }>(stack.storeUrls.eu!, 'SELECT "deviceId", "ownerPseudonym" FROM "Tombstone"');
    expect(tombstones.map((t) => t.deviceId).sort()).toEqual([...devicesOf.alice].sort());
    expect(new Set(tombstones.map((t) => t.ownerPseudonym))).toEqual(new Set([alice.pseudonym]));
    // Bob is untouched (his name is sealed in the store, readable through the API).
    expect(euText).not.toContain(names.bob);
    expect(await stack.api('GET', `/api/v1/owners/${bob.id}`, ADMIN)).toMatchObject({ status: 200, json: { name: names.bob, contact: contacts.bob } });
    expect(await stack.api('GET', `/api/v1/owners/${alice.id}`, ADMIN)).toMatchObject({ status: 404, json: { code: 'NOT_FOUND' } });
    // The erased devices were asked to wipe what they hold locally.
    await eventually(() => expect(wipes.sort()).toEqual(devicesOf.alice.map((d) => topics.command(d, 'wipe-local-data')).sort()));
    // Their retained consent records are gone from the broker.
    await eventually(() => expect(clearedConsent.sort()).toEqual(devicesOf.alice.map((d) => topics.consent(d)).sort()));

    // A late event and a redelivered one (same id as before the erasure): both refused and counted, neither stored.
    const before = stack.server.stats().refusedByReason.device_erased ?? 0;
    const erasedDevice = devicesOf.alice[0]!;
    const redelivered = { ...eventOf('brew', erasedDevice), id: published.get(erasedDevice)![0]! };
    await device.publishAsync(topics.event(erasedDevice, 'brew'), JSON.stringify(redelivered), { qos: 1 });
    await device.publishAsync(topics.event(erasedDevice, 'brew'), JSON.stringify(eventOf('brew', erasedDevice)), { qos: 1 });
    await eventually(() => expect(stack.server.stats().refusedByReason.device_erased).toBe(before + 2));
    const rows = await sql<{ n: number | string }>(stack.storeUrls.eu!, `SELECT COUNT(*) AS n FROM "Event" WHERE "deviceId" = '${erasedDevice}'`);
    expect(Number(rows[0]!.n)).toBe(0);
    await eventually(async () => {
      const refusals = await sql<{ reason: string; payload: unknown }>(
        stack.storeUrls.eu!,
        `SELECT "reason", "payload" FROM "Refusal" WHERE "deviceId" = '${erasedDevice}'`,
      );
      expect(refusals).toHaveLength(2);
      expect(refusals.every((r) => r.reason === 'device_erased' && r.payload === null)).toBe(true);
    });
  });

  it('erases a deleted device too', async () => {
    const bobsDevice = devicesOf.bob[0]!;
    const fleetIds = async (): Promise<string[]> =>
      ((await stack.api('GET', '/api/v1/fleet', ADMIN)).json as { devices: { id: string }[] }).devices.map((d) => d.id);
    expect(await fleetIds()).toContain(bobsDevice);
    const deleted = await stack.api('DELETE', `/api/v1/devices/${bobsDevice}`, ADMIN);
    expect(deleted).toMatchObject({ status: 200, json: { tombstoned: [bobsDevice], erased: { devices: 1, events: 3, consentRecords: 1 } } });
    const text = await everyRowAsText(stack.storeUrls.eu!);
    for (const id of published.get(bobsDevice)!) expect(text).not.toContain(id);
    // To the API the device is gone: not listed, no consent can be recorded for it.
    expect(await stack.api('GET', `/api/v1/devices/${bobsDevice}`, ADMIN)).toMatchObject({ status: 404 });
    expect(await stack.api('PUT', `/api/v1/devices/${bobsDevice}/consent`, ADMIN, ALL_CONSENT)).toMatchObject({ status: 404 });
    const listed = (await stack.api('GET', '/api/v1/devices', ADMIN)).json as { devices: { id: string }[] };
    expect(listed.devices.map((d) => d.id)).not.toContain(bobsDevice);
    // Nor does the dashboard show it.
    expect(await stack.api('GET', `/api/v1/fleet/${bobsDevice}`, ADMIN)).toMatchObject({ status: 404 });
    expect(await fleetIds()).not.toContain(bobsDevice);
  });

  it('chains the audit log and detects an edited row', async () => {
    const verified = await stack.api('GET', '/api/v1/audit/verify', AUDITOR);
    expect(verified.status).toBe(200);
    const chains = (verified.json as { chains: { store: string; status: string; entries: number }[] }).chains;
    expect(chains.every((c) => c.status === 'ok')).toBe(true);
    const eu = chains.find((c) => c.store === 'eu')!;
    expect(eu.entries).toBeGreaterThan(5);
    const log = (await stack.api('GET', '/api/v1/audit?region=eu&limit=1000', AUDITOR)).json as { entries: { action: string }[] };
    expect(log.entries.map((e) => e.action)).toEqual(
      expect.arrayContaining(['consent.change', 'owner.create', 'owner.attach_device', 'owner.export', 'owner.erase', 'device.delete']),
    );
    const logins = (await stack.api('GET', '/api/v1/audit?region=directory', AUDITOR)).json as { entries: { action: string; actor: string }[] };
    expect(logins.entries.filter((e) => e.action === 'token.login').map((e) => e.actor)).toEqual(expect.arrayContaining(['admin', 'auditor', 'op-us']));
    // An auditor reads audit and reports only.
    expect((await stack.api('GET', `/api/v1/owners/${bob.id}`, AUDITOR)).status).toBe(403);

    await sql(stack.storeUrls.eu!, `UPDATE "AuditEntry" SET "actor" = 'somebody-else' WHERE "seq" = 3`);
    const after = (await stack.api('GET', '/api/v1/audit/verify', ADMIN)).json as { chains: { store: string; status: string; brokenAt: number | null }[] };
    expect(after.chains.find((c) => c.store === 'eu')).toMatchObject({ status: 'broken', brokenAt: 3 });
    expect(after.chains.find((c) => c.store === 'us')).toMatchObject({ status: 'ok' });
  });
});
