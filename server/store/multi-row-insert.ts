import { empty, join, raw, type RawValue, type Sql, sqltag as sql } from '@prisma/client/runtime/client';
import type { StoreClient } from './connect.ts';

/**
 * Multi-row INSERTs, each as large as the engine's bind-parameter limit allows. This is the ingest
 * hot path: Prisma's createMany costs ~95 µs of client work per row, one raw statement per few
 * thousand rows stays close to the driver's own speed. The same SQL runs on SQLite and PostgreSQL;
 * Prisma renders the placeholders (and dates, booleans) for each. Identifiers are ours, never input.
 */
export function multiRowInserts(
  table: string,
  columns: readonly string[],
  tuples: readonly (readonly RawValue[])[],
  maxParams: number,
  onConflict?: string,
): Sql[] {
  const head = raw(`INSERT INTO "${table}" (${columns.map((c) => `"${c}"`).join(', ')}) VALUES `);
  const tail = onConflict === undefined ? empty : raw(` ON CONFLICT (${onConflict}) DO NOTHING`);
  const perStatement = Math.max(1, Math.floor(maxParams / columns.length));
  const statements: Sql[] = [];
  for (let start = 0; start < tuples.length; start += perStatement) {
    const values = tuples.slice(start, start + perStatement).map((tuple) => sql`(${join(tuple)})`);
    statements.push(sql`${head}${join(values)}${tail}`);
  }
  return statements;
}

/** Runs the statements in one transaction; resolves with the total of rows they changed. */
export async function executeAll(client: StoreClient, statements: readonly Sql[]): Promise<number> {
  const [only] = statements;
  if (only === undefined) return 0;
  if (statements.length === 1) return client.$executeRaw(only);
  const counts = await client.$transaction(statements.map((statement) => client.$executeRaw(statement)));
  return counts.reduce((sum, n) => sum + n, 0);
}
