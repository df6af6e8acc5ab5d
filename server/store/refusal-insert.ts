import type { StoreDb } from './connect.ts';
import { executeAll, multiRowInserts } from './multi-row-insert.ts';
import type { QuarantinedRow, RefusalRow } from './types.ts';

const COLUMNS = ['receivedAt', 'reason', 'deviceId', 'eventId', 'kind', 'payload'];

/**
 * Refusals go to a region store (with the payload: the quarantine) or to the directory, where the
 * payload column stays null whatever the caller passes: no region's data may be kept there.
 */
export async function insertRefusals(db: StoreDb, rows: readonly (RefusalRow | QuarantinedRow)[], keepPayload: boolean): Promise<void> {
  const tuples = rows.map((r) => [r.receivedAt, r.reason, r.deviceId, r.eventId, r.kind, keepPayload && 'payload' in r ? r.payload : null]);
  await executeAll(db.client, multiRowInserts('Refusal', COLUMNS, tuples, db.maxParams));
}
