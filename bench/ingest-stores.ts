import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import type { Logger } from 'pino';
import type { RegionId } from '../schema/regions.ts';
import { openStores } from '../server/store/open-stores.ts';
import type { EventRow, StoreKind, Stores } from '../server/store/types.ts';
import { uuidv7 } from './ingest-event-ids.ts';

export const PG_ADMIN_URL = 'postgresql://postgres@127.0.0.1:5432/postgres';

async function pgAdmin(sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: PG_ADMIN_URL, connectionTimeoutMillis: 2_000 });
  client.on('error', () => undefined);
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

export async function postgresReachable(): Promise<boolean> {
  return pgAdmin('SELECT 1').then(
    () => true,
    () => false,
  );
}

/** Fresh, migrated stores of one kind (temp SQLite files or temp PostgreSQL databases), removed by `drop`. */
export async function freshStores(kind: StoreKind, regions: readonly RegionId[], logger: Logger): Promise<{ stores: Stores; drop(): Promise<void> }> {
  if (kind === 'sqlite') {
    const dataDir = await mkdtemp(join(tmpdir(), 'brewtel-bench-'));
    const stores = await openStores({ regions: [...regions], dataDir, stores: {} }, logger);
    return {
      stores,
      drop: async () => {
        await stores.close();
        await rm(dataDir, { recursive: true, force: true });
      },
    };
  }
  const run = `brewtel_bench_${randomBytes(4).toString('hex')}`;
  const names = ['directory', ...regions];
  for (const name of names) await pgAdmin(`CREATE DATABASE "${run}_${name}"`);
  const url = (name: string): string => `postgresql://postgres@127.0.0.1:5432/${run}_${name}`;
  const dropAll = async (): Promise<void> => {
    for (const name of names) await pgAdmin(`DROP DATABASE IF EXISTS "${run}_${name}" WITH (FORCE)`);
  };
  try {
    const stores = await openStores(
      {
        regions: [...regions],
        dataDir: tmpdir(),
        stores: Object.fromEntries(regions.map((r) => [r, url(r)])),
        directoryUrl: url('directory'),
      },
      logger,
    );
    return {
      stores,
      drop: async () => {
        await stores.close();
        await dropAll();
      },
    };
  } catch (err) {
    await dropAll();
    throw err;
  }
}

/** Bench devices go straight into the directory and their home stores, consenting to brews an hour back. */
export async function provisionDevices(stores: Stores, regions: readonly RegionId[], perRegion: number): Promise<string[]> {
  const issuedAt = new Date(Date.now() - 3_600_000);
  const ids: string[] = [];
  for (const region of regions) {
    const store = stores.regions.get(region)!;
    for (let i = 0; i < perRegion; i++) {
      const deviceId = `cm-bench${region}${randomBytes(6).toString('hex')}`;
      await stores.directory.register({ deviceId, region, secretHash: 'bench-no-secret', createdAt: issuedAt });
      await store.addDevice(deviceId, issuedAt);
      await store.appendConsent({
        deviceId,
        version: 1,
        issuedAt,
        categories: { usage: true, location: 'none', payment: false, diagnostics: false },
        actor: 'bench',
        channel: 'provisioning',
      });
      ids.push(deviceId);
    }
  }
  return ids;
}

/** Rows shaped like what ingest writes for the bench's brew events (~200 bytes of body). */
export function benchRows(count: number, deviceId: string): EventRow[] {
  const now = Date.now();
  return Array.from({ length: count }, (_, i) => ({
    id: uuidv7(now + i),
    deviceId,
    kind: 'brew' as const,
    seq: i + 1,
    deviceTs: new Date(now + i),
    receivedAt: new Date(now + i + 3),
    consentVersion: 1,
    body: JSON.stringify({ recipe: 'espresso', doseG: 18, waterMl: 40, milkMl: 0, waterTempC: 92.5, pressureBar: 9, durationMs: 27_000, outcome: 'ok' }),
  }));
}
