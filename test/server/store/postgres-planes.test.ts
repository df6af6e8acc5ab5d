import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import pg from 'pg';
import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { openStores } from '../../../server/store/open-stores.ts';
import { setUpPlaneDatabases } from '../../../tools/postgres-planes.ts';
import { PG_ADMIN_URL, postgresReachable } from './pg-temp-databases.ts';

const REPO = fileURLToPath(new URL('../../../', import.meta.url));
const available = await postgresReachable();
if (!available && process.env.CI === 'true') throw new Error('the per-region role test needs PostgreSQL on 127.0.0.1:5432 under CI');

const prefix = `brewtel_t${randomBytes(4).toString('hex')}`;
const made = { databases: [`${prefix}_eu`, `${prefix}_us`], roles: [`${prefix}_eu`, `${prefix}_us`, `${prefix}_other`] };
let dataDir: string | undefined;

async function asAdmin<T>(database: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const url = new URL(PG_ADMIN_URL);
  url.pathname = `/${database}`;
  const client = new pg.Client({ connectionString: url.toString() });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** Connects as `role` to `database`; the error code when PostgreSQL refuses (42501: no CONNECT privilege). */
async function connectCode(role: string, database: string): Promise<string | null> {
  const client = new pg.Client({ host: '127.0.0.1', port: 5432, user: role, database });
  try {
    await client.connect();
    await client.query('SELECT 1');
    return null;
  } catch (error) {
    return (error as { code?: string }).code ?? 'unknown';
  } finally {
    await client.end().catch(() => undefined);
  }
}

afterAll(async () => {
  if (!available) return;
  await asAdmin('postgres', async (admin) => {
    for (const db of made.databases) await admin.query(`DROP DATABASE IF EXISTS "${db}" WITH (FORCE)`);
    for (const role of made.roles) await admin.query(`DROP ROLE IF EXISTS "${role}"`);
  });
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

describe.skipIf(!available)('one PostgreSQL role per region (tools/postgres-planes.ts)', () => {
  it("gives each region's role its own database and no way into another's", async () => {
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['--import', 'tsx', 'tools/postgres-planes.ts', '--regions', 'eu,us', '--prefix', prefix, '--json'],
      {
        cwd: REPO,
        env: { ...process.env, BREWTEL_PG_ADMIN_URL: PG_ADMIN_URL },
      },
    );
    const { stores } = JSON.parse(stdout) as { stores: Record<string, string> };
    expect(new URL(stores.eu!).username).toBe(`${prefix}_eu`);
    expect(new URL(stores.eu!).pathname).toBe(`/${prefix}_eu`);

    // Each plane migrates and writes its own store with its own role, as a server would.
    dataDir = await mkdtemp(join(tmpdir(), 'brewtel-pg-planes-'));
    for (const region of ['eu', 'us']) {
      const stores_ = await openStores({ regions: [region], dataDir: join(dataDir, region), stores: { [region]: stores[region]! } }, pino({ level: 'silent' }));
      try {
        await stores_.regions.get(region)!.addDevice(`cm-planes-${region}`, new Date());
        expect((await stores_.regions.get(region)!.getDevice(`cm-planes-${region}`))?.id).toBe(`cm-planes-${region}`);
      } finally {
        await stores_.close();
      }
    }
    const owners = await asAdmin(`${prefix}_us`, (c) => c.query<{ owner: string }>(`SELECT tableowner AS owner FROM pg_tables WHERE tablename = 'Device'`));
    expect(owners.rows).toEqual([{ owner: `${prefix}_us` }]);

    expect(await connectCode(`${prefix}_eu`, `${prefix}_eu`)).toBeNull();
    expect(await connectCode(`${prefix}_eu`, `${prefix}_us`)).toBe('42501');
    expect(await connectCode(`${prefix}_us`, `${prefix}_eu`)).toBe('42501');
    // Nor could eu read us's tables from inside that database, were CONNECT ever granted by mistake:
    // the public schema is us's own (no USAGE for others), and so is every table in it.
    await asAdmin(`${prefix}_us`, async (c) => {
      await c.query(`SET ROLE "${prefix}_eu"`);
      await expect(c.query('SELECT count(*) FROM public."Device"')).rejects.toMatchObject({ code: '42501', message: 'permission denied for schema public' });
      await c.query('RESET ROLE');
      await c.query(`GRANT USAGE ON SCHEMA public TO "${prefix}_eu"`);
      await c.query(`SET ROLE "${prefix}_eu"`);
      await expect(c.query('SELECT count(*) FROM public."Device"')).rejects.toMatchObject({ code: '42501', message: 'permission denied for table Device' });
      await c.query('RESET ROLE');
      await c.query(`REVOKE USAGE ON SCHEMA public FROM "${prefix}_eu"`);
    });
    // PUBLIC lost CONNECT: any other login role is refused too.
    await asAdmin('postgres', (c) => c.query(`CREATE ROLE "${prefix}_other" LOGIN`));
    expect(await connectCode(`${prefix}_other`, `${prefix}_eu`)).toBe('42501');

    // Idempotent: a second run keeps roles, passwords and data, and the same rights.
    const again = await setUpPlaneDatabases({ regions: ['eu', 'us'], prefix, adminUrl: PG_ADMIN_URL, resetPasswords: false });
    expect(again.map((p) => p.password)).toEqual([null, null]);
    expect(await connectCode(`${prefix}_eu`, `${prefix}_us`)).toBe('42501');
    const kept = await asAdmin(`${prefix}_eu`, (c) => c.query<{ id: string }>('SELECT id FROM "Device"'));
    expect(kept.rows).toEqual([{ id: 'cm-planes-eu' }]);
  }, 60_000);
});
