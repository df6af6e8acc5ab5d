import type { StoreDb } from './connect.ts';
import { executeAll, multiRowInserts } from './multi-row-insert.ts';
import type { RefusalRow } from './types.ts';

/** Refusals go to a region store or to the directory; the table and the rule (no payload) are the same. */
export async function insertRefusals(db: StoreDb, rows: readonly RefusalRow[]): Promise<void> {
  const tuples = rows.map((r) => [r.receivedAt, r.reason, r.deviceId, r.eventId, r.kind]);
  await executeAll(db.client, multiRowInserts('Refusal', ['receivedAt', 'reason', 'deviceId', 'eventId', 'kind'], tuples, db.maxParams));
}
