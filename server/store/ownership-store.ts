import { join, sqltag as sql } from '@prisma/client/runtime/client';
import { eventRowOf } from './event-row.ts';
import { quarantineEntryOf } from './quarantine-row.ts';
import type { StoreClient } from './connect.ts';
import type { Prisma } from './generated/sqlite/client.ts';
import type { EventCursor, EventRow, OwnerRow, OwnershipPeriodRow, QuarantineEntry } from './types.ts';

/**
 * Ownership periods: who owned a device when, as half-open spans [startedAt, endedAt). A device's
 * first period starts at the epoch, so it covers everything before the first handover (as the whole
 * device history belonged to its one owner before periods existed); a handover closes the current
 * period and opens the next at that moment.
 */
export const FIRST_PERIOD_START = new Date(0);

export type StoreTx = Prisma.TransactionClient;

type PeriodSpan = Pick<OwnershipPeriodRow, 'deviceId' | 'startedAt' | 'endedAt'>;

/** Rows of the device whose `column` falls in the span. */
export function inSpan<C extends 'deviceTs' | 'receivedAt'>(span: PeriodSpan, column: C): { deviceId: string } & Record<C, { gte: Date; lt?: Date }> {
  const range = span.endedAt === null ? { gte: span.startedAt } : { gte: span.startedAt, lt: span.endedAt };
  return { deviceId: span.deviceId, [column]: range } as { deviceId: string } & Record<C, { gte: Date; lt?: Date }>;
}

/** A device and the owner (by pseudonym) it belongs to from now on. */
interface Assignment {
  deviceId: string;
  ownerPseudonym: string;
}

/**
 * Inside one transaction: each device's current period (another owner's) ends at `at` and a new one
 * starts there, the epoch for a device that never had one. A device already its owner's changes
 * nothing. Resolves with the devices the store does not hold; when there are any, nothing is written.
 */
async function handOver(tx: StoreTx, assignments: readonly Assignment[], at: Date): Promise<string[]> {
  const ids = assignments.map((a) => a.deviceId);
  const devices = await tx.device.findMany({ where: { id: { in: ids } }, select: { id: true, ownerPseudonym: true } });
  const current = new Map(devices.map((d) => [d.id, d.ownerPseudonym]));
  const missing = ids.filter((id) => !current.has(id));
  if (missing.length > 0) return missing;
  const changing = assignments.filter((a) => current.get(a.deviceId) !== a.ownerPseudonym);
  if (changing.length === 0) return [];
  const changingIds = changing.map((a) => a.deviceId);
  const owned = await tx.ownershipPeriod.findMany({ where: { deviceId: { in: changingIds } }, select: { deviceId: true }, distinct: ['deviceId'] });
  const hadPeriods = new Set(owned.map((p) => p.deviceId));
  // Raw: Prisma's updateMany counts 1,000 ids past the bind-parameter limit it assumes for SQLite.
  await tx.$executeRaw(sql`UPDATE "OwnershipPeriod" SET "endedAt" = ${at} WHERE "deviceId" IN (${join(changingIds)}) AND "endedAt" IS NULL`);
  await tx.ownershipPeriod.createMany({
    data: changing.map((a) => ({ deviceId: a.deviceId, ownerPseudonym: a.ownerPseudonym, startedAt: hadPeriods.has(a.deviceId) ? at : FIRST_PERIOD_START })),
  });
  // One statement for the whole batch rather than a query per owner. Three bind parameters a device
  // stay under both engines' limits for a batch of OWNER_BATCH_MAX.
  const cases = join(
    changing.map((a) => sql`WHEN ${a.deviceId} THEN ${a.ownerPseudonym}`),
    ' ',
  );
  await tx.$executeRaw(sql`UPDATE "Device" SET "ownerPseudonym" = CASE "id" ${cases} END WHERE "id" IN (${join(changingIds)})`);
  return [];
}

export function createOwnershipStore(client: StoreClient) {
  return {
    /**
     * Makes `ownerPseudonym` the device's owner from `at` on: the current period (another owner's)
     * ends there and a new one starts. Attaching a device to its current owner changes nothing.
     */
    attachDevice(deviceId: string, ownerPseudonym: string, at: Date): Promise<boolean> {
      return client.$transaction(async (tx) => (await handOver(tx, [{ deviceId, ownerPseudonym }], at)).length === 0);
    },

    /** New owners and their devices in one transaction; the devices not in this store, or [] once written. */
    createOwnersWithDevices(owners: readonly { row: OwnerRow; deviceIds: readonly string[] }[], at: Date): Promise<string[]> {
      return client.$transaction(async (tx) => {
        const missing = await handOver(
          tx,
          owners.flatMap(({ row, deviceIds }) => deviceIds.map((deviceId) => ({ deviceId, ownerPseudonym: row.pseudonym }))),
          at,
        );
        if (missing.length === 0) await tx.owner.createMany({ data: owners.map((o) => o.row) });
        return missing;
      });
    },

    /** Every period of an owner (current and past), by device and time. */
    periodsOf: (ownerPseudonym: string): Promise<OwnershipPeriodRow[]> =>
      client.ownershipPeriod.findMany({
        where: { ownerPseudonym },
        orderBy: [{ deviceId: 'asc' }, { startedAt: 'asc' }],
        select: { deviceId: true, ownerPseudonym: true, startedAt: true, endedAt: true },
      }),

    /** One page of the period's events, oldest first, after the cursor (keyset paging: no offset scans). */
    async eventsInPeriod(period: PeriodSpan, after: EventCursor | null, limit: number): Promise<EventRow[]> {
      const where =
        after === null
          ? inSpan(period, 'deviceTs')
          : { AND: [inSpan(period, 'deviceTs'), { OR: [{ deviceTs: { gt: after.deviceTs } }, { deviceTs: after.deviceTs, id: { gt: after.id } }] }] };
      const events = await client.event.findMany({ where, orderBy: [{ deviceTs: 'asc' }, { id: 'asc' }], take: limit });
      return events.map(eventRowOf);
    },

    /** One page of the quarantine rows of the device that arrived within the period, oldest first. */
    async refusalsInPeriod(period: PeriodSpan, afterId: number, limit: number): Promise<QuarantineEntry[]> {
      const rows = await client.refusal.findMany({ where: { ...inSpan(period, 'receivedAt'), id: { gt: afterId } }, orderBy: { id: 'asc' }, take: limit });
      return rows.map(quarantineEntryOf);
    },
  };
}
