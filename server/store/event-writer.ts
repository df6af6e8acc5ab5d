import type { Database } from './sqlite-library.ts';
import type pg from 'pg';
import { inTransaction, sqliteConnection, type SqlDriverAdapter } from './driver-adapter.ts';
import type { EventRow, EventWriteResult } from './types.ts';

/**
 * The ingest hot path: all rows in one transaction, idempotent by (device id, event id), and never
 * for a device that has a tombstone: that check runs inside the same transaction as the insert, so
 * no event of an erased device can commit after its erasure did. Resolves with the rows that were
 * new and those refused for a tombstone (the rest were already stored: redeliveries). Each dialect
 * gets the statement shape that costs least client CPU per row on it (see bench/ingest-cpu.ts):
 * Prisma's per-argument mapping and per-call statement compile are skipped.
 */
export type EventWriter = (rows: readonly EventRow[]) => Promise<EventWriteResult>;

const COLUMNS = '"id", "deviceId", "kind", "seq", "deviceTs", "receivedAt", "consentVersion", "body"';
const NOTHING: EventWriteResult = Object.freeze({ inserted: [], erased: [] });

/** The text Prisma's SQLite adapter writes for a DateTime (its default `iso8601` format), so Prisma reads ours back. */
const sqliteTimestamp = (date: Date): string => date.toISOString().replace('Z', '+00:00');

/**
 * SQLite: one single-row statement, compiled once per connection and run per row, all rows in one
 * transaction run synchronously on the connection under Prisma's adapter: cheaper than a multi-row
 * statement per batch (SQLite compiles each anew), and nothing else can run on the connection
 * meanwhile. The transaction is IMMEDIATE, so it holds the database's write lock from its first
 * read: a tombstone written by another connection commits either before the check or after the
 * batch. Only while Prisma holds a transaction open there (across awaits) does the batch go through
 * the adapter's transaction, which waits for Prisma's to finish instead of joining it.
 */
export function sqliteEventWriter(adapter: () => SqlDriverAdapter): EventWriter {
  type Compiled = { connection: Database; writeRows(rows: readonly EventRow[]): EventWriteResult; inTransaction(rows: readonly EventRow[]): EventWriteResult };
  let compiled: Compiled | undefined;
  const compile = (connection: Database): Compiled => {
    const insert = connection.prepare(`INSERT INTO "Event" (${COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT ("id", "deviceId") DO NOTHING`);
    const tombstone = connection.prepare('SELECT 1 FROM "Tombstone" WHERE "deviceId" = ?').pluck();
    const writeRows = (rows: readonly EventRow[]): EventWriteResult => {
      const erasedDevice = new Map<string, boolean>();
      const inserted: EventRow[] = [];
      const erased: EventRow[] = [];
      for (const r of rows) {
        let isErased = erasedDevice.get(r.deviceId);
        if (isErased === undefined) {
          isErased = tombstone.get(r.deviceId) !== undefined;
          erasedDevice.set(r.deviceId, isErased);
        }
        if (isErased) erased.push(r);
        else if (insert.run(r.id, r.deviceId, r.kind, r.seq, sqliteTimestamp(r.deviceTs), sqliteTimestamp(r.receivedAt), r.consentVersion, r.body).changes > 0)
          inserted.push(r);
      }
      return { inserted, erased };
    };
    return { connection, writeRows, inTransaction: connection.transaction(writeRows).immediate };
  };
  return async (rows) => {
    if (rows.length === 0) return NOTHING;
    const connection = sqliteConnection(adapter());
    if (compiled?.connection !== connection) compiled = compile(connection);
    if (!connection.inTransaction) return compiled.inTransaction(rows);
    const { writeRows } = compiled;
    return inTransaction(adapter(), async () => writeRows(rows));
  };
}

/**
 * PostgreSQL: the whole batch as one JSON parameter, unpacked by the server (json_to_recordset), so
 * any batch is one short statement with one argument and the client's cost per row is a share of
 * one JSON.stringify. Sent on the pool Prisma's adapter also uses, as a named statement, so each
 * connection parses and plans it once (the adapter would send it anew each time). Timestamps travel
 * as ISO text in UTC; the columns are `timestamp(3)` without zone, as Prisma keeps DateTime, so the
 * input's zone designator is dropped and the UTC value kept.
 *
 * The tombstone check: the transaction first takes the Tombstone table in SHARE mode, which waits
 * for an erasure that has written its tombstone and not yet committed (and makes an erasure that
 * starts now wait for this batch; erasure writes the tombstone before it deletes, see
 * privacy-store.ts). The insert's snapshot, taken after the lock, sees every committed tombstone.
 * SHARE does not conflict with itself, so batches of several server processes still run at once.
 */
export function postgresEventWriter(pool: pg.Pool): EventWriter {
  const text = `WITH input AS (
      SELECT * FROM json_to_recordset($1::json) AS r("id" text, "deviceId" text, "kind" text, "seq" int8,
        "deviceTs" timestamp(3), "receivedAt" timestamp(3), "consentVersion" int4, "body" text)
    ), inserted AS (
      INSERT INTO "Event" (${COLUMNS})
      SELECT ${COLUMNS} FROM input i WHERE NOT EXISTS (SELECT 1 FROM "Tombstone" t WHERE t."deviceId" = i."deviceId")
      ON CONFLICT ("id", "deviceId") DO NOTHING
      RETURNING "deviceId", "id"
    )
    SELECT "deviceId", "id" FROM inserted
    UNION ALL SELECT t."deviceId", NULL FROM "Tombstone" t WHERE t."deviceId" IN (SELECT "deviceId" FROM input)`;
  return async (rows) => {
    if (rows.length === 0) return NOTHING;
    const client = await pool.connect();
    let broken: Error | undefined;
    try {
      await client.query('BEGIN; LOCK TABLE "Tombstone" IN SHARE MODE');
      const result = await client.query<{ deviceId: string; id: string | null }>({ name: 'brewtel_write_events', text, values: [JSON.stringify(rows)] });
      await client.query('COMMIT');
      return sortOut(rows, result.rows);
    } catch (err) {
      await client.query('ROLLBACK').catch((rollbackFailed: unknown) => {
        broken = rollbackFailed instanceof Error ? rollbackFailed : new Error(String(rollbackFailed));
      });
      throw err;
    } finally {
      // A connection whose ROLLBACK failed is in an unknown state: the pool drops it instead of reusing it.
      client.release(broken);
    }
  };
}

/** Maps the statement's answer (inserted keys, erased devices) back to the rows; a key given twice counts once. */
function sortOut(rows: readonly EventRow[], answer: readonly { deviceId: string; id: string | null }[]): EventWriteResult {
  const key = (deviceId: string, id: string): string => `${deviceId}\u0000${id}`;
  const insertedKeys = new Set<string>();
  const erasedDevices = new Set<string>();
  for (const a of answer) {
    if (a.id === null) erasedDevices.add(a.deviceId);
    else insertedKeys.add(key(a.deviceId, a.id));
  }
  const inserted: EventRow[] = [];
  const erased: EventRow[] = [];
  for (const r of rows) {
    if (erasedDevices.has(r.deviceId)) erased.push(r);
    else if (insertedKeys.delete(key(r.deviceId, r.id))) inserted.push(r);
  }
  return { inserted, erased };
}
