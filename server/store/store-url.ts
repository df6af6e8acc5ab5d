import path from 'node:path';

/** Where one database lives, decided by its URL alone. */
export type StoreLocation = { kind: 'sqlite'; file: string } | { kind: 'postgres'; url: string };

export function parseStoreUrl(url: string): StoreLocation {
  if (/^postgres(ql)?:\/\//.test(url)) return { kind: 'postgres', url };
  if (url.startsWith('file:')) {
    const file = url.slice('file:'.length).replace(/^\/\/(?=\/)/, '');
    if (file.length > 0) return { kind: 'sqlite', file: path.resolve(file) };
  }
  throw new Error('a store URL must be file:<path> (SQLite) or postgres[ql]://... (PostgreSQL)');
}

export function defaultSqliteUrl(dataDir: string, name: string): string {
  return `file:${path.join(dataDir, `${name}.db`)}`;
}

/** For logs and errors: the URL without its password. */
export function describeStore(location: StoreLocation): string {
  if (location.kind === 'sqlite') return `sqlite ${location.file}`;
  const u = new URL(location.url);
  u.password = u.password ? '***' : '';
  return `postgres ${u.host}${u.pathname}`;
}
