import type { Logger } from 'pino';
import { regionIdSchema, type RegionId } from '../../schema/regions.ts';
import { connectStore } from '../store/connect.ts';
import { defaultSqliteUrl, parseStoreUrl } from '../store/store-url.ts';

/** One device's home as the directory records it: nothing else is kept about a device. */
export interface DeviceHomeRow {
  deviceId: string;
  region: RegionId;
  createdAt: Date;
}

/** The global directory's store: the DeviceHome table of its own database (SQLite or PostgreSQL). */
export interface HomeStore {
  /** Records homes in one statement; an id already recorded fails the whole call (a plane never mints an id twice). */
  record(rows: readonly DeviceHomeRow[]): Promise<void>;
  lookup(deviceId: string): Promise<DeviceHomeRow | null>;
  /** True when there was an entry to remove. */
  remove(deviceId: string): Promise<boolean>;
  countByRegion(): Promise<Map<RegionId, number>>;
  ping(): Promise<void>;
  readonly description: string;
  close(): Promise<void>;
}

/** The SQLite file when no store URL is configured; not `directory.db`, which a plane's server uses. */
export const HOME_STORE_NAME = 'device-homes';

export async function openHomeStore(options: { dataDir: string; storeUrl?: string | undefined }, logger: Logger): Promise<HomeStore> {
  const db = await connectStore(parseStoreUrl(options.storeUrl ?? defaultSqliteUrl(options.dataDir, HOME_STORE_NAME)), logger);
  const { client } = db;
  const toRow = (r: { deviceId: string; region: string; createdAt: Date }): DeviceHomeRow => ({ ...r, region: regionIdSchema.parse(r.region) });
  return {
    description: db.description,
    async record(rows) {
      if (rows.length === 0) return;
      await client.deviceHome.createMany({ data: rows.map((r) => ({ deviceId: r.deviceId, region: r.region, createdAt: r.createdAt })) });
    },
    async lookup(deviceId) {
      const row = await client.deviceHome.findUnique({ where: { deviceId } });
      return row === null ? null : toRow(row);
    },
    async remove(deviceId) {
      const { count } = await client.deviceHome.deleteMany({ where: { deviceId } });
      return count > 0;
    },
    async countByRegion() {
      const groups = await client.deviceHome.groupBy({ by: ['region'], _count: { _all: true } });
      return new Map(groups.map((g) => [regionIdSchema.parse(g.region), g._count._all]));
    },
    async ping() {
      await client.$queryRawUnsafe('SELECT 1');
    },
    close: () => client.$disconnect(),
  };
}
