import { sqltag as sql } from '@prisma/client/runtime/client';
import type { StoreClient } from './connect.ts';
import { inSpan, type StoreTx } from './ownership-store.ts';
import type { ErasureCounts, ErasureRequest } from './types.ts';

/**
 * The row deletions of one erasure, in one transaction.
 *
 * Device deletion takes everything of the devices. An owner's erasure takes what fell in the owner's
 * ownership periods on every device they ever had (events by device time, quarantined messages by
 * arrival), and only that: a previous or later owner's events stay theirs. The owner's periods stay as
 * spans without a pseudonym, so nothing falling in them later can be counted as somebody else's. The
 * devices the owner has now are tombstoned and their rows go; a device's consent ledger goes with its
 * last event (while another owner's events remain, it is their proof of consent).
 */
export function eraseRows(client: StoreClient, request: ErasureRequest): Promise<ErasureCounts> {
  const { deviceIds, ownerId, ownerPseudonym, erasedAt, cause } = request;
  const ids = [...deviceIds];
  return client.$transaction(async (tx): Promise<ErasureCounts> => {
    // Tombstones first: the event writers check for them inside their own transactions, and on
    // PostgreSQL a batch waits for (or makes wait) this insert, so every event row of these devices
    // is either refused there or committed before the deletes below run.
    for (const deviceId of ids) {
      await tx.$executeRaw(sql`INSERT INTO "Tombstone" ("deviceId", "ownerPseudonym", "erasedAt", "cause")
        VALUES (${deviceId}, ${ownerPseudonym}, ${erasedAt}, ${cause}) ON CONFLICT ("deviceId") DO NOTHING`);
    }
    const counts: ErasureCounts = { owners: 0, devices: 0, events: 0, consentRecords: 0, refusals: 0 };
    const touched = new Set(ids);
    if (cause === 'device_deletion') {
      counts.events += (await tx.event.deleteMany({ where: { deviceId: { in: ids } } })).count;
      await tx.ownershipPeriod.deleteMany({ where: { deviceId: { in: ids } } });
    } else {
      const owned = ownerPseudonym === null ? [] : await tx.ownershipPeriod.findMany({ where: { ownerPseudonym } });
      // A retried erasure (the first attempt failed after this transaction) finds the owner's periods
      // already anonymous: on the devices going now, those may still hold rows.
      const erased = await tx.ownershipPeriod.findMany({ where: { deviceId: { in: ids }, ownerPseudonym: null } });
      for (const span of [...owned, ...erased]) {
        touched.add(span.deviceId);
        counts.events += (await tx.event.deleteMany({ where: inSpan(span, 'deviceTs') })).count;
        counts.refusals += (await tx.refusal.deleteMany({ where: inSpan(span, 'receivedAt') })).count;
      }
      if (ownerPseudonym !== null) await tx.ownershipPeriod.updateMany({ where: { ownerPseudonym }, data: { ownerPseudonym: null } });
    }
    counts.devices = (await tx.device.deleteMany({ where: { id: { in: ids } } })).count;
    if (ownerId !== undefined) counts.owners = (await tx.owner.deleteMany({ where: { id: ownerId } })).count;
    const leftovers = await leftoversOfGoneDevices(tx, [...touched]);
    counts.consentRecords += leftovers.consentRecords;
    counts.refusals += leftovers.refusals;
    return counts;
  });
}

/** Of tombstoned devices with no event left: the consent ledger and the rest of the quarantine. */
async function leftoversOfGoneDevices(tx: StoreTx, deviceIds: readonly string[]): Promise<{ consentRecords: number; refusals: number }> {
  const tombstoned = await tx.tombstone.findMany({ where: { deviceId: { in: [...deviceIds] } }, select: { deviceId: true } });
  const empty: string[] = [];
  for (const { deviceId } of tombstoned) if ((await tx.event.count({ where: { deviceId } })) === 0) empty.push(deviceId);
  if (empty.length === 0) return { consentRecords: 0, refusals: 0 };
  const consent = await tx.consentRecord.deleteMany({ where: { deviceId: { in: empty } } });
  const refusals = await tx.refusal.deleteMany({ where: { deviceId: { in: empty } } });
  return { consentRecords: consent.count, refusals: refusals.count };
}
