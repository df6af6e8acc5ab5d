import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OpenStoresOptions } from '../../../server/store/open-stores.ts';
import { openStores } from '../../../server/store/open-stores.ts';
import { readMigrations } from '../../../server/store/migration-files.ts';
import { type ConsentRow, StoreConflictError, type Stores } from '../../../server/store/types.ts';
import { eventRow, newDeviceId, recordingLogger } from './fixtures.ts';

export interface ContractTarget {
  /** Options for two regions, eu and us, each with a fresh database of its own. */
  options: OpenStoresOptions;
  /** Clean up whatever the target created (temp folders, temp databases). */
  dispose(): Promise<void>;
}

/**
 * The one storage contract every engine must meet, whatever its URL. Each test uses its own
 * device ids, so tests share the open stores without seeing each other's rows.
 */
export function describeStoreContract(name: string, createTarget: () => Promise<ContractTarget>): void {
  describe(`store contract: ${name}`, () => {
    let target: ContractTarget;
    let stores: Stores;
    const log = recordingLogger();
    const eu = () => stores.regions.get('eu')!;
    const us = () => stores.regions.get('us')!;

    beforeAll(async () => {
      target = await createTarget();
      stores = await openStores(target.options, log.logger);
    });

    afterAll(async () => {
      await stores?.close();
      await target?.dispose();
    });

    it('migrated every store on first open and reports a store per region', () => {
      const applied = log.lines().filter((l) => l.msg === 'applied migration');
      expect(applied).toHaveLength(3 * readMigrations(eu().kind).length);
      expect([...stores.regions.keys()]).toEqual(['eu', 'us']);
      expect(eu().kind).toBe(name.startsWith('sqlite') ? 'sqlite' : 'postgres');
    });

    it('stores an event once however often it is inserted, and says how many were new', async () => {
      const device = newDeviceId();
      const rows = [0, 1, 2].map((seq) => eventRow(device, seq));
      const before = await eu().counts();
      expect(await eu().insertEvents(rows)).toBe(3);
      expect(await eu().insertEvents(rows)).toBe(0);
      expect(await eu().insertEvents([...rows, eventRow(device, 3)])).toBe(1);
      expect(await eu().insertEvents([])).toBe(0);
      expect((await eu().counts()).stored - before.stored).toBe(4);
    });

    it('takes a batch larger than one statement can carry, in one call', async () => {
      const device = newDeviceId();
      const rows = Array.from({ length: 9_000 }, (_, seq) => eventRow(device, seq));
      expect(await eu().insertEvents(rows)).toBe(9_000);
      expect(await eu().insertEvents(rows.slice(4_000, 5_000))).toBe(0);
      expect(await eu().listEvents(device, { limit: 10_000 })).toHaveLength(9_000);
    });

    it('lists a device’s events newest first, filtered by kind and limited, with every field intact', async () => {
      const device = newDeviceId();
      const other = newDeviceId();
      const rows = [
        eventRow(device, 1),
        eventRow(device, 2, { kind: 'status', body: '{"waterLevelPct":40}' }),
        eventRow(device, 3),
        eventRow(device, 4, { consentVersion: 2 }),
      ];
      await eu().insertEvents([rows[2]!, rows[0]!, rows[3]!, rows[1]!, eventRow(other, 5)]);
      const all = await eu().listEvents(device, { limit: 10 });
      expect(all.map((e) => e.seq)).toEqual([4, 3, 2, 1]);
      expect(all[3]).toEqual(rows[0]);
      expect(all[0]!.consentVersion).toBe(2);
      expect((await eu().listEvents(device, { kind: 'status', limit: 10 })).map((e) => e.seq)).toEqual([2]);
      expect((await eu().listEvents(device, { limit: 2 })).map((e) => e.seq)).toEqual([4, 3]);
      expect(await eu().listEvents(newDeviceId(), { limit: 10 })).toEqual([]);
    });

    it('quarantines refusals with their payload in the region store, counted apart from events', async () => {
      const before = await eu().counts();
      const deviceId = newDeviceId();
      const payload = Buffer.from('{"owner":"Jane Doe","card":"4111111111111111"}\u0000\xff', 'latin1');
      await eu().insertRefusals([
        { receivedAt: new Date(), reason: 'schema_invalid', deviceId, eventId: eventRow('x', 1).id, kind: 'payment', payload },
        { receivedAt: new Date(), reason: 'malformed_json', deviceId: null, eventId: null, kind: null, payload: null },
      ]);
      await eu().insertRefusals([]);
      const after = await eu().counts();
      expect(after.refused - before.refused).toBe(2);
      expect(after.stored).toBe(before.stored);
      const [second, first] = await eu().listRefusals({ limit: 2 });
      expect(second).toMatchObject({ reason: 'malformed_json', payload: null });
      expect(first).toMatchObject({ reason: 'schema_invalid', deviceId, kind: 'payment' });
      expect(first!.payload!.equals(payload)).toBe(true);
      expect(await eu().listRefusals({ limit: 1, before: second!.id })).toEqual([first]);
    });

    it('keeps an append-only consent ledger per device, oldest version first', async () => {
      const device = newDeviceId();
      await eu().addDevice(device, new Date());
      await eu().addDevice(device, new Date()); // a retried provisioning step is harmless
      const record = (version: number, location: ConsentRow['categories']['location']): ConsentRow => ({
        deviceId: device,
        version,
        issuedAt: new Date(Date.UTC(2026, 10, version)),
        categories: { usage: true, location, payment: version > 1, diagnostics: false },
        actor: 'admin',
        channel: 'api',
      });
      await eu().appendConsent(record(2, 'exact'));
      await eu().appendConsent(record(1, 'coarse'));
      await expect(eu().appendConsent(record(2, 'none'))).rejects.toBeInstanceOf(StoreConflictError);
      expect(await eu().consentHistory(device)).toEqual([record(1, 'coarse'), record(2, 'exact')]);
      expect(await eu().consentHistory(newDeviceId())).toEqual([]);
    });

    it('appends to several ledgers in one transaction, and writes none of them when a version is taken', async () => {
      const [a, b] = [newDeviceId(), newDeviceId()];
      for (const id of [a, b]) await eu().addDevice(id, new Date());
      const row = (deviceId: string, version: number): ConsentRow => ({
        deviceId,
        version,
        issuedAt: new Date(Date.UTC(2026, 10, version)),
        categories: { usage: version > 1, location: 'none', payment: false, diagnostics: false },
        actor: 'admin',
        channel: 'api',
      });
      await eu().appendConsents([row(a, 1), row(b, 1)]);
      await expect(eu().appendConsents([row(a, 2), row(b, 1)])).rejects.toBeInstanceOf(StoreConflictError);
      expect(await eu().consentHistory(a)).toEqual([row(a, 1)]);
      await eu().appendConsents([row(a, 2), row(b, 2)]);
      expect(await eu().consentHistory(b)).toEqual([row(b, 1), row(b, 2)]);
      // Several ledgers in one read, each in version order; a device without one is left out.
      const none = newDeviceId();
      await eu().appendConsent(row(a, 3));
      const ledgers = await eu().consentHistories([b, none, a, a]);
      expect([...ledgers.keys()].sort()).toEqual([a, b].sort());
      expect(ledgers.get(a)).toEqual([row(a, 1), row(a, 2), row(a, 3)]);
      expect(ledgers.get(b)).toEqual([row(b, 1), row(b, 2)]);
      expect(await eu().consentHistories([])).toEqual(new Map());
    });

    it('keeps the regions in separate databases', async () => {
      const device = newDeviceId();
      const usBefore = await us().counts();
      await eu().insertEvents([eventRow(device, 1)]);
      expect(await us().listEvents(device, { limit: 10 })).toEqual([]);
      expect(await us().counts()).toEqual(usBefore);
      const row = eventRow(device, 2);
      // The same event id may exist in two stores: idempotency is per store, residency is routing's job.
      expect(await us().insertEvents([row])).toBe(1);
      expect(await eu().insertEvents([row])).toBe(1);
    });

    it('registers devices in the directory and finds them again', async () => {
      const entry = { deviceId: newDeviceId(), region: 'us', secretHash: 'scrypt$abc$def', createdAt: new Date(Date.UTC(2026, 10, 2)) };
      await stores.directory.register(entry);
      await expect(stores.directory.register({ ...entry, region: 'eu' })).rejects.toBeInstanceOf(StoreConflictError);
      expect(await stores.directory.lookup(entry.deviceId)).toEqual(entry);
      expect(await stores.directory.lookup(newDeviceId())).toBeNull();
      // The batch login check's read: the same entries, none for an unknown id, duplicates once.
      const other = { deviceId: newDeviceId(), region: 'eu', secretHash: 'hmac-sha256$k1$abc', createdAt: new Date(Date.UTC(2026, 10, 3, 12, 30, 15, 250)) };
      await stores.directory.register(other);
      const unknown = newDeviceId();
      const many = await stores.directory.lookupMany([entry.deviceId, unknown, other.deviceId, entry.deviceId]);
      expect([...many.entries()].sort(([a], [b]) => a.localeCompare(b))).toEqual(
        [
          [entry.deviceId, entry],
          [other.deviceId, other],
        ].sort(([a], [b]) => String(a).localeCompare(String(b))),
      );
      expect((await stores.directory.lookupMany([])).size).toBe(0);
      expect(await stores.directory.list()).toContainEqual(entry);
      const before = await stores.directory.countRefusals();
      await stores.directory.insertRefusals([{ receivedAt: new Date(), reason: 'unknown_device', deviceId: null, eventId: null, kind: null }]);
      expect(await stores.directory.countRefusals()).toBe(before + 1);
    });

    it('creates owners with their devices in one transaction, and writes nothing when a device is missing', async () => {
      const suffix = randomBytes(8).toString('hex');
      const owner = (n: number) => ({
        id: `own-eu-${suffix}-${n}`,
        pseudonym: `p-${suffix}-${n}`,
        name: 'sealed:v1:x',
        contact: 'sealed:v1:y',
        createdAt: new Date(),
      });
      const devices = Array.from({ length: 1_000 }, () => newDeviceId());
      const at = new Date();
      for (const d of devices) await eu().addDevice(d, at);
      const absent = newDeviceId();
      expect(
        await eu().createOwnersWithDevices(
          [
            { row: owner(0), deviceIds: [devices[0]!] },
            { row: owner(1), deviceIds: [absent] },
          ],
          at,
        ),
      ).toEqual([absent]);
      expect(await eu().getOwner(owner(0).id)).toBeNull();
      expect((await eu().getDevice(devices[0]!))?.ownerPseudonym).toBeNull();

      // A full batch: 1,000 owners, one device each, past the parameter limit Prisma assumes for SQLite.
      const rows = devices.map((_, n) => owner(n));
      expect(
        await eu().createOwnersWithDevices(
          rows.map((row, n) => ({ row, deviceIds: [devices[n]!] })),
          at,
        ),
      ).toEqual([]);
      expect((await eu().getDevice(devices[999]!))?.ownerPseudonym).toBe(rows[999]!.pseudonym);
      expect(await eu().periodsOf(rows[0]!.pseudonym)).toEqual([
        { deviceId: devices[0], ownerPseudonym: rows[0]!.pseudonym, startedAt: new Date(0), endedAt: null },
      ]);

      // A handover ends the previous owner's period where the next one's starts.
      const later = new Date(at.getTime() + 1_000);
      const next = { ...owner(1_000), id: `own-eu-${suffix}-next`, pseudonym: `p-${suffix}-next` };
      expect(await eu().createOwnersWithDevices([{ row: next, deviceIds: [devices[0]!] }], later)).toEqual([]);
      expect((await eu().periodsOf(rows[0]!.pseudonym))[0]?.endedAt).toEqual(later);
      expect(await eu().periodsOf(next.pseudonym)).toEqual([{ deviceId: devices[0], ownerPseudonym: next.pseudonym, startedAt: later, endedAt: null }]);
    });

    it('appends audit rows together or not at all', async () => {
      const head = (await us().lastAudit())?.seq ?? 0;
      const row = (seq: number) => ({
        seq,
        at: new Date(),
        actor: 'test',
        action: 'test.batch',
        target: 'us',
        detail: '{}',
        prevHash: `h${seq - 1}`,
        hash: `h${seq}`,
      });
      await us().appendAudits(Array.from({ length: 2_000 }, (_, i) => row(head + 1 + i)));
      expect((await us().lastAudit())?.seq).toBe(head + 2_000);
      await expect(us().appendAudits([row(head + 2_001), row(head + 2_000)])).rejects.toBeInstanceOf(StoreConflictError);
      expect((await us().lastAudit())?.seq).toBe(head + 2_000);
    });

    it('answers pings', async () => {
      await stores.directory.ping();
      await eu().ping();
    });

    it('re-opens without migrating again and finds its data', async () => {
      const device = newDeviceId();
      await eu().insertEvents([eventRow(device, 1)]);
      await stores.close();
      const again = recordingLogger();
      stores = await openStores(target.options, again.logger);
      expect(again.lines().filter((l) => l.msg === 'applied migration')).toEqual([]);
      expect(await eu().listEvents(device, { limit: 10 })).toHaveLength(1);
    });
  });
}
