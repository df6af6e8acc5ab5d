import type Database from 'better-sqlite3';
import type pg from 'pg';
import { inTransaction, sqliteConnection, type SqlDriverAdapter } from './driver-adapter.ts';
import type { EventRow } from './types.ts';

/**
 * The ingest hot path: all rows in one transaction, idempotent by event id, resolving with how many
 * were new. Each dialect gets the statement shape that costs least client CPU per row on it (see
 * bench/ingest-cpu.ts): Prisma's per-argument mapping and per-call statement compile are skipped.
 */
export type EventWriter = (rows: readonly EventRow[]) => Promise<number>;

const COLUMNS = '"id", "deviceId", "kind", "seq", "deviceTs", "receivedAt", "consentVersion", "body"';

/** The text Prisma's SQLite adapter writes for a DateTime (its default `iso8601` format), so Prisma reads ours back. */
const sqliteTimestamp = (date: Date): string => date.toISOString().replace('Z', '+00:00');

/**
 * SQLite: one single-row statement, compiled once per connection and run per row, all rows in one
 * transaction run synchronously on the connection under Prisma's adapter: cheaper than a multi-row
 * statement per batch (SQLite compiles each anew), and nothing else can run on the connection
 * meanwhile. Only while Prisma holds a transaction open there (across awaits) does the batch go
 * through the adapter's transaction, which waits for Prisma's to finish instead of joining it.
 */
export function sqliteEventWriter(adapter: () => SqlDriverAdapter): EventWriter {
  let compiled: { connection: Database.Database; insertRows(rows: readonly EventRow[]): number; inTransaction(rows: readonly EventRow[]): number } | undefined;
  const compile = (connection: Database.Database): NonNullable<typeof compiled> => {
    const insert = connection.prepare(`INSERT INTO "Event" (${COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT ("id") DO NOTHING`);
    const insertRows = (rows: readonly EventRow[]): number => {
      let inserted = 0;
      for (const r of rows) {
        inserted += insert.run(r.id, r.deviceId, r.kind, r.seq, sqliteTimestamp(r.deviceTs), sqliteTimestamp(r.receivedAt), r.consentVersion, r.body).changes;
      }
      return inserted;
    };
    return { connection, insertRows, inTransaction: connection.transaction(insertRows) };
  };
  return async (rows) => {
    if (rows.length === 0) return 0;
    const connection = sqliteConnection(adapter());
    if (compiled?.connection !== connection) compiled = compile(connection);
    if (!connection.inTransaction) return compiled.inTransaction(rows);
    const { insertRows } = compiled;
    return inTransaction(adapter(), async () => insertRows(rows));
  };
}

/**
 * PostgreSQL: the whole batch as one JSON parameter, unpacked by the server (json_to_recordset), so
 * any batch is one short statement with one argument and the client's cost per row is a share of
 * one JSON.stringify. Sent on the pool Prisma's adapter also uses, as a named statement, so each
 * connection parses and plans it once (the adapter would send it anew each time). Timestamps travel
 * as ISO text in UTC; the columns are `timestamp(3)` without zone, as Prisma keeps DateTime, so the
 * input's zone designator is dropped and the UTC value kept.
 */
export function postgresEventWriter(pool: pg.Pool): EventWriter {
  const text = `INSERT INTO "Event" (${COLUMNS})
    SELECT ${COLUMNS} FROM json_to_recordset($1::json) AS r("id" text, "deviceId" text, "kind" text, "seq" int4,
      "deviceTs" timestamp(3), "receivedAt" timestamp(3), "consentVersion" int4, "body" text)
    ON CONFLICT ("id") DO NOTHING`;
  return async (rows) => {
    if (rows.length === 0) return 0;
    const result = await pool.query({ name: 'brewtel_insert_events', text, values: [JSON.stringify(rows)] });
    return result.rowCount ?? 0;
  };
}
