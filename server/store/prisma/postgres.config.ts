import path from 'node:path';
import { defineConfig } from 'prisma/config';
import { PrismaPgForCli } from './pg-cli-adapter.ts';

/**
 * Prisma CLI config for the PostgreSQL schema (generate, migrate diff/deploy/status). The js engine
 * with an adapter runs offline; the native engine would need a download. Point the CLI at a database
 * with BREWTEL_PRISMA_URL=postgresql://... (the server itself migrates at open and needs none of this).
 */
const url = process.env.BREWTEL_PRISMA_URL ?? 'postgresql://postgres@127.0.0.1:5432/brewtel';

export default defineConfig({
  experimental: { adapter: true },
  engine: 'js',
  schema: path.join(import.meta.dirname, 'postgres'),
  migrations: { path: path.join(import.meta.dirname, 'postgres', 'migrations') },
  adapter: async () => new PrismaPgForCli(url),
});
