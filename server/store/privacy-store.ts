import { sqltag as sql } from '@prisma/client/runtime/client';
import { eventRowOf } from './event-row.ts';
import type { StoreClient } from './connect.ts';
import type { ErasureCounts, PrivacyStore, RegionFacts, RetentionCut } from './types.ts';

/**
 * Events whose recorded consent version (the ledger row ingest decided under) does not allow their
 * kind, or has no ledger row at all. Booleans compare the same way in SQLite (0/1) and PostgreSQL.
 */
const UNCONSENTED_ROWS = sql`
  SELECT COUNT(*) AS "n" FROM "Event" e
  LEFT JOIN "ConsentRecord" c ON c."deviceId" = e."deviceId" AND c."version" = e."consentVersion"
  WHERE c."deviceId" IS NULL
     OR (e."kind" = 'brew' AND NOT c."usage")
     OR (e."kind" = 'payment' AND NOT c."payment")
     OR (e."kind" IN ('status', 'fault') AND NOT c."diagnostics")
     OR (e."kind" = 'location' AND c."location" = 'none')`;

const olderThan = (cut: RetentionCut) => ({
  kind: { in: [...cut.kinds] },
  // Whichever clock says older: a device clock set to the future cannot keep its rows forever.
  OR: [{ deviceTs: { lt: cut.before } }, { receivedAt: { lt: cut.before } }],
});

export function createPrivacyStore(client: StoreClient): PrivacyStore {
  return {
    async createOwner(row) {
      await client.owner.create({ data: row });
    },

    getOwner: (id) => client.owner.findUnique({ where: { id } }),

    async attachDevice(deviceId, ownerPseudonym) {
      const { count } = await client.device.updateMany({ where: { id: deviceId }, data: { ownerPseudonym } });
      return count > 0;
    },

    getDevice: (deviceId) => client.device.findUnique({ where: { id: deviceId } }),

    devicesOf: (ownerPseudonym) => client.device.findMany({ where: { ownerPseudonym }, orderBy: { id: 'asc' } }),

    async allEvents(deviceId) {
      const events = await client.event.findMany({ where: { deviceId }, orderBy: [{ deviceTs: 'asc' }, { id: 'asc' }] });
      return events.map(eventRowOf);
    },

    erase({ deviceIds, ownerId, ownerPseudonym, erasedAt, cause }) {
      const ids = [...deviceIds];
      return client.$transaction(async (tx): Promise<ErasureCounts> => {
        // Tombstones first: the event writers check for them inside their own transactions, and on
        // PostgreSQL a batch waits for (or makes wait) this insert, so every event row of these
        // devices is either refused there or committed before the deletes below run.
        for (const deviceId of ids) {
          await tx.$executeRaw(sql`INSERT INTO "Tombstone" ("deviceId", "ownerPseudonym", "erasedAt", "cause")
            VALUES (${deviceId}, ${ownerPseudonym}, ${erasedAt}, ${cause}) ON CONFLICT ("deviceId") DO NOTHING`);
        }
        const events = await tx.event.deleteMany({ where: { deviceId: { in: ids } } });
        const consentRecords = await tx.consentRecord.deleteMany({ where: { deviceId: { in: ids } } });
        const refusals = await tx.refusal.deleteMany({ where: { deviceId: { in: ids } } });
        const devices = await tx.device.deleteMany({ where: { id: { in: ids } } });
        const owners = ownerId === undefined ? { count: 0 } : await tx.owner.deleteMany({ where: { id: ownerId } });
        return { owners: owners.count, devices: devices.count, events: events.count, consentRecords: consentRecords.count, refusals: refusals.count };
      });
    },

    async tombstoned() {
      const rows = await client.tombstone.findMany({ select: { deviceId: true } });
      return rows.map((r) => r.deviceId);
    },

    async changedSince(since) {
      const [consent, tombstoned] = await Promise.all([
        client.consentRecord.findMany({ where: { issuedAt: { gte: since } }, select: { deviceId: true }, distinct: ['deviceId'] }),
        client.tombstone.findMany({ where: { erasedAt: { gte: since } }, select: { deviceId: true } }),
      ]);
      return { consent: consent.map((r) => r.deviceId), tombstoned: tombstoned.map((r) => r.deviceId) };
    },

    async sweepEvents(cut) {
      return (await client.event.deleteMany({ where: olderThan(cut) })).count;
    },

    async sweepRefusals(before) {
      return (await client.refusal.deleteMany({ where: { receivedAt: { lt: before } } })).count;
    },

    countEventsOlder: (cut) => client.event.count({ where: olderThan(cut) }),

    countRefusalsOlder: (before) => client.refusal.count({ where: { receivedAt: { lt: before } } }),

    async facts(): Promise<RegionFacts> {
      const [devices, owners, tombstones, byKind, byReason, byDevice, unconsented] = await Promise.all([
        client.device.count(),
        client.owner.count(),
        client.tombstone.count(),
        client.event.groupBy({ by: ['kind'], _count: { _all: true } }),
        client.refusal.groupBy({ by: ['reason'], _count: { _all: true } }),
        client.event.groupBy({ by: ['deviceId'], _count: { _all: true } }),
        client.$queryRaw<{ n: bigint | number }[]>(UNCONSENTED_ROWS),
      ]);
      return {
        devices,
        owners,
        tombstones,
        eventsByKind: Object.fromEntries(byKind.map((g) => [g.kind, g._count._all])),
        refusedByReason: Object.fromEntries(byReason.map((g) => [g.reason, g._count._all])),
        eventsByDevice: Object.fromEntries(byDevice.map((g) => [g.deviceId, g._count._all])),
        unconsentedRows: Number(unconsented[0]?.n ?? 0),
      };
    },
  };
}
