import { sqltag as sql } from '@prisma/client/runtime/client';
import type { StoreClient } from './connect.ts';
import { brewStatistics } from './brew-statistics.ts';
import { eraseRows } from './erase-rows.ts';
import { createOwnershipStore } from './ownership-store.ts';
import type { PrivacyStore, RegionFacts, RetentionCut } from './types.ts';

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

    listOwners: ({ limit, afterId }) =>
      client.owner.findMany({ where: afterId === undefined ? {} : { id: { gt: afterId } }, orderBy: { id: 'asc' }, take: limit }),

    ownersNotSealed: (sealedPrefix) => client.owner.findMany({ where: { NOT: { name: { startsWith: sealedPrefix } } } }),

    async updateOwnerFields(id, { name, contact }) {
      await client.owner.update({ where: { id }, data: { name, contact } });
    },

    ...createOwnershipStore(client),

    getDevice: (deviceId) => client.device.findUnique({ where: { id: deviceId } }),

    devicesOf: (ownerPseudonym) => client.device.findMany({ where: { ownerPseudonym }, orderBy: { id: 'asc' } }),

    erase: (request) => eraseRows(client, request),

    async tombstoned() {
      const rows = await client.tombstone.findMany({ select: { deviceId: true } });
      return rows.map((r) => r.deviceId);
    },

    async changedSince(since) {
      const [consent, tombstoned] = await Promise.all([
        client.consentRecord.findMany({ where: { issuedAt: { gte: since } }, select: { deviceId: true, version: true } }),
        client.tombstone.findMany({ where: { erasedAt: { gte: since } }, select: { deviceId: true } }),
      ]);
      const newest = new Map<string, number>();
      for (const r of consent) newest.set(r.deviceId, Math.max(r.version, newest.get(r.deviceId) ?? 0));
      return { consent: [...newest].map(([deviceId, version]) => ({ deviceId, version })), tombstoned: tombstoned.map((r) => r.deviceId) };
    },

    async sweepEvents(cut) {
      return (await client.event.deleteMany({ where: olderThan(cut) })).count;
    },

    async sweepRefusals(before) {
      return (await client.refusal.deleteMany({ where: { receivedAt: { lt: before } } })).count;
    },

    countEventsOlder: (cut) => client.event.count({ where: olderThan(cut) }),

    countRefusalsOlder: (before) => client.refusal.count({ where: { receivedAt: { lt: before } } }),

    brewStatistics: () => brewStatistics(client),

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
