import { type ArgType, inTransaction, type SqlDriverAdapter, type SqlQuery } from './driver-adapter.ts';
import type { EventRow, StoreKind } from './types.ts';

/**
 * The ingest hot path: all rows in one transaction, idempotent by event id, resolving with how many
 * were new. Statements go straight to Prisma's driver adapter (see driver-adapter.ts for why), so
 * each dialect gets the statement shape that is fastest on it.
 */
export type EventWriter = (rows: readonly EventRow[]) => Promise<number>;

const COLUMNS = '"id", "deviceId", "kind", "seq", "deviceTs", "receivedAt", "consentVersion", "body"';
const SCALAR_TYPES: readonly ArgType['scalarType'][] = ['string', 'string', 'string', 'int', 'datetime', 'datetime', 'int', 'string'];
const tuple = (r: EventRow): unknown[] => [r.id, r.deviceId, r.kind, r.seq, r.deviceTs, r.receivedAt, r.consentVersion, r.body];

export function eventWriter(kind: StoreKind, adapter: () => SqlDriverAdapter, maxParams: number): EventWriter {
  return kind === 'sqlite' ? sqliteWriter(adapter, maxParams) : postgresWriter(adapter);
}

/** SQLite: multi-row VALUES, as many rows per statement as the bind-parameter limit allows. */
function sqliteWriter(adapter: () => SqlDriverAdapter, maxParams: number): EventWriter {
  const perStatement = Math.max(1, Math.floor(maxParams / SCALAR_TYPES.length));
  const placeholders = `(${SCALAR_TYPES.map(() => '?').join(', ')})`;
  const argTypes: ArgType[] = SCALAR_TYPES.map((scalarType) => ({ scalarType, arity: 'scalar' }));
  const statement = (rows: readonly EventRow[]): SqlQuery => ({
    sql: `INSERT INTO "Event" (${COLUMNS}) VALUES ${Array(rows.length).fill(placeholders).join(', ')} ON CONFLICT ("id") DO NOTHING`,
    args: rows.flatMap(tuple),
    argTypes: rows.flatMap(() => argTypes),
  });
  return async (rows) => {
    if (rows.length === 0) return 0;
    if (rows.length <= perStatement) return adapter().executeRaw(statement(rows));
    return inTransaction(adapter(), async (tx) => {
      let inserted = 0;
      for (let start = 0; start < rows.length; start += perStatement) {
        inserted += await tx.executeRaw(statement(rows.slice(start, start + perStatement)));
      }
      return inserted;
    });
  };
}

/** PostgreSQL: one column array per parameter, unnested; any batch is one statement of eight parameters. */
function postgresWriter(adapter: () => SqlDriverAdapter): EventWriter {
  const sql = `INSERT INTO "Event" (${COLUMNS})
    SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::int4[], $5::timestamp(3)[], $6::timestamp(3)[], $7::int4[], $8::text[])
    ON CONFLICT ("id") DO NOTHING`;
  const argTypes: ArgType[] = SCALAR_TYPES.map((scalarType) => ({ scalarType, arity: 'list' }));
  return async (rows) => {
    if (rows.length === 0) return 0;
    const tuples = rows.map(tuple);
    const args = argTypes.map((_, column) => tuples.map((t) => t[column]));
    return adapter().executeRaw({ sql, args, argTypes });
  };
}
