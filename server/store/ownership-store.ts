import { eventRowOf } from './event-row.ts';
import { quarantineEntryOf } from './quarantine-row.ts';
import type { StoreClient } from './connect.ts';
import type { Prisma } from './generated/sqlite/client.ts';
import type { EventCursor, EventRow, OwnershipPeriodRow, QuarantineEntry } from './types.ts';

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

export function createOwnershipStore(client: StoreClient) {
  return {
    /**
     * Makes `ownerPseudonym` the device's owner from `at` on: the current period (another owner's)
     * ends there and a new one starts. Attaching a device to its current owner changes nothing.
     */
    attachDevice(deviceId: string, ownerPseudonym: string, at: Date): Promise<boolean> {
      return client.$transaction(async (tx) => {
        const device = await tx.device.findUnique({ where: { id: deviceId } });
        if (!device) return false;
        if (device.ownerPseudonym === ownerPseudonym) return true;
        const earlier = await tx.ownershipPeriod.count({ where: { deviceId } });
        await tx.ownershipPeriod.updateMany({ where: { deviceId, endedAt: null }, data: { endedAt: at } });
        await tx.ownershipPeriod.create({ data: { deviceId, ownerPseudonym, startedAt: earlier === 0 ? FIRST_PERIOD_START : at } });
        await tx.device.update({ where: { id: deviceId }, data: { ownerPseudonym } });
        return true;
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
      const where = after === null
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
