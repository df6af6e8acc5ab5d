import pg from 'pg';

/**
 * pg settings for @prisma/adapter-pg 6.19, working around two of its defects:
 * - it cannot read PostgreSQL's internal `name`/`"char"` column types (prisma/orm#27403), which the
 *   schema engine's introspection and some catalog queries return; the values arrive as text
 *   anyway, so the client relabels those columns as text before the adapter sees them;
 * - its shadow database spreads the pool config and overrides `database`, which a
 *   `connectionString` would silently win over; so the URL is split into discrete fields.
 */

const TEXT_OID = 25;
const TEXT_ARRAY_OID = 1009;
/** name, "char" -> text; name[], "char"[] -> text[]. */
const RELABEL: ReadonlyMap<number, number> = new Map([
  [19, TEXT_OID],
  [18, TEXT_OID],
  [1003, TEXT_ARRAY_OID],
  [1002, TEXT_ARRAY_OID],
]);

function relabel(result: unknown): unknown {
  const fields = (result as { fields?: { dataTypeID: number }[] } | null)?.fields;
  for (const field of fields ?? []) {
    field.dataTypeID = RELABEL.get(field.dataTypeID) ?? field.dataTypeID;
  }
  return result;
}

class NameAsTextClient extends pg.Client {
  // pg-pool calls the callback form, a transaction's client the promise form; a submittable passes through.
  override query(...args: unknown[]): never {
    const last = args.at(-1);
    if (typeof last === 'function') {
      args[args.length - 1] = (err: unknown, result: unknown) => (last as (e: unknown, r: unknown) => void)(err, relabel(result));
    }
    const out = (super.query as (...a: unknown[]) => unknown)(...args);
    return (out instanceof Promise ? out.then(relabel) : out) as never;
  }
}

export function pgPoolConfig(url: string, extra: pg.PoolConfig = {}): pg.PoolConfig {
  const u = new URL(url);
  const sslmode = u.searchParams.get('sslmode');
  return {
    host: decodeURIComponent(u.hostname) || 'localhost',
    port: u.port ? Number(u.port) : 5432,
    user: decodeURIComponent(u.username) || 'postgres',
    ...(u.password ? { password: decodeURIComponent(u.password) } : {}),
    database: decodeURIComponent(u.pathname.replace(/^\//, '')) || 'postgres',
    ...(sslmode && sslmode !== 'disable' ? { ssl: { rejectUnauthorized: sslmode === 'verify-full' } } : {}),
    ...extra,
    Client: NameAsTextClient,
  };
}
