import { sqltag as sql, type RawValue, type Sql } from '@prisma/client/runtime/client';
import type { StoreDb } from './connect.ts';
import { executeAll, multiRowInserts } from './multi-row-insert.ts';
import type { QuarantinedRow, RefusalRow } from './types.ts';

const COLUMNS = ['receivedAt', 'reason', 'deviceId', 'eventId', 'kind', 'payload', 'explanation'];

/**
 * The payload as received, unless its device has a tombstone by the time the row is written: a
 * message that passed ingest's tombstone check just before its device was erased, and was refused
 * later, must not bring the erased device's data back into the quarantine. Evaluated inside the
 * insert, so it sees the tombstone of an erasure that committed first; on PostgreSQL the batch also
 * takes the Tombstone table in SHARE mode first (as the event writer does), so an erasure running
 * meanwhile waits for it and then deletes its rows.
 */
function payloadUnlessErased(db: StoreDb, deviceId: string | null, payload: Buffer | null): Sql | null {
  if (payload === null || deviceId === null) return null;
  const value = db.kind === 'postgres' ? sql`${payload}::bytea` : sql`${payload}`;
  return sql`CASE WHEN EXISTS (SELECT 1 FROM "Tombstone" t WHERE t."deviceId" = ${deviceId}) THEN NULL ELSE ${value} END`;
}

/**
 * Refusals go to a region store (with the payload: the quarantine) or to the directory, where the
 * payload column stays null whatever the caller passes: no region's data may be kept there.
 */
export async function insertRefusals(db: StoreDb, rows: readonly (RefusalRow | QuarantinedRow)[], keepPayload: boolean): Promise<void> {
  const tuples = rows.map((r): RawValue[] => [
    r.receivedAt,
    r.reason,
    r.deviceId,
    r.eventId,
    r.kind,
    keepPayload && 'payload' in r ? payloadUnlessErased(db, r.deviceId, r.payload) : null,
    r.explanation ? JSON.stringify(r.explanation) : null,
  ]);
  // The payload's guard carries the device id a second time: one parameter a row more than columns.
  const statements = multiRowInserts('Refusal', COLUMNS, tuples, Math.floor((db.maxParams * COLUMNS.length) / (COLUMNS.length + 1)));
  const guarded = keepPayload && db.kind === 'postgres' && rows.some((r) => 'payload' in r && r.payload !== null);
  await executeAll(db.client, guarded ? [sql`LOCK TABLE "Tombstone" IN SHARE MODE`, ...statements] : statements);
}
