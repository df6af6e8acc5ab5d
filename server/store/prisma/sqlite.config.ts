import path from 'node:path';
import { defineConfig } from 'prisma/config';
import { PrismaBetterSQLite3ForCli } from './sqlite-cli-adapter.ts';

/**
 * Prisma CLI config for the SQLite schema (generate, migrate diff/deploy/status). The js engine with
 * an adapter runs offline; the native engine would need a download. Point the CLI at a database with
 * BREWTEL_PRISMA_URL=file:data/eu.db; unset, an in-memory database serves `migrate diff`. The server
 * itself migrates every store at open and needs none of this.
 */
const url = process.env.BREWTEL_PRISMA_URL ?? ':memory:';

export default defineConfig({
  experimental: { adapter: true },
  engine: 'js',
  schema: path.join(import.meta.dirname, 'sqlite'),
  migrations: { path: path.join(import.meta.dirname, 'sqlite', 'migrations') },
  adapter: async () => new PrismaBetterSQLite3ForCli(url),
});
