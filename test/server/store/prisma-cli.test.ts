import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { openStores } from '../../../server/store/open-stores.ts';
import { createTempDatabases, postgresReachable } from './pg-temp-databases.ts';

/**
 * Our migrator writes `_prisma_migrations` itself; Prisma's own CLI, run with our config files,
 * must agree that a store it opened is up to date.
 */
const run = promisify(execFile);
const PRISMA = path.resolve('node_modules/.bin/prisma');

async function prisma(command: 'status' | 'deploy', config: string, url: string): Promise<string> {
  const { stdout } = await run(PRISMA, ['migrate', command, '--config', `server/store/prisma/${config}.config.ts`], {
    env: { ...process.env, BREWTEL_PRISMA_URL: url },
    timeout: 30_000,
  });
  return stdout;
}

const pgAvailable = await postgresReachable();
if (!pgAvailable && process.env.CI === 'true') throw new Error('PostgreSQL is not reachable on 127.0.0.1:5432 and CI=true');

describe('prisma migrate agrees with the migrator', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterAll(async () => {
    for (const cleanup of cleanups) await cleanup();
  });

  it('on SQLite', async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'brewtel-cli-'));
    cleanups.push(async () => rmSync(dataDir, { recursive: true, force: true }));
    const stores = await openStores({ regions: ['eu'], dataDir, stores: {} }, pino({ level: 'silent' }));
    await stores.close();
    const url = `file:${path.join(dataDir, 'eu.db')}`;
    expect(await prisma('status', 'sqlite', url)).toContain('Database schema is up to date');
    expect(await prisma('deploy', 'sqlite', url)).toContain('No pending migrations to apply');
  });

  it.skipIf(!pgAvailable)('on PostgreSQL', async () => {
    const { urls, drop } = await createTempDatabases(['dir', 'eu']);
    cleanups.push(drop);
    const stores = await openStores({ regions: ['eu'], dataDir: 'unused', stores: { eu: urls.eu! }, directoryUrl: urls.dir! }, pino({ level: 'silent' }));
    await stores.close();
    // Only status here: `migrate deploy` on PostgreSQL agrees too, but its CLI process lingers ~10 s
    // after finishing (a pooled connection it never releases), which every test run would pay.
    expect(await prisma('status', 'postgres', urls.eu!)).toContain('Database schema is up to date');
  });
});
