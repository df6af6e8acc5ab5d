import type { Logger } from 'pino';
import type { RegionId } from '../../schema/regions.ts';
import type { ServerConfig } from '../config.ts';
import { connectStore, type StoreDb } from './connect.ts';
import { createDirectory } from './directory.ts';
import { createRegionStore } from './region-store.ts';
import { defaultSqliteUrl, describeStore, parseStoreUrl, type StoreLocation } from './store-url.ts';
import type { RegionStore, Stores } from './types.ts';

export type OpenStoresOptions = Pick<ServerConfig, 'regions' | 'dataDir' | 'stores' | 'directoryUrl'>;

/**
 * Opens (creating and migrating as needed) the directory and one store per region. Every store must
 * be a database of its own: residency means a region's rows cannot even share a file with another's.
 */
export async function openStores(options: OpenStoresOptions, logger: Logger): Promise<Stores> {
  const log = logger.child({ component: 'store' });
  const directoryLocation = parseStoreUrl(options.directoryUrl ?? defaultSqliteUrl(options.dataDir, 'directory'));
  const regionLocations = options.regions.map((region): [RegionId, StoreLocation] => [
    region,
    parseStoreUrl(options.stores[region] ?? defaultSqliteUrl(options.dataDir, region)),
  ]);
  assertDistinct([['directory', directoryLocation], ...regionLocations]);

  // Settle every open before deciding, so a failure never leaves another store's client behind.
  const results = await Promise.allSettled([directoryLocation, ...regionLocations.map(([, l]) => l)].map((l) => connectStore(l, log)));
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  const dbs = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  if (failed !== undefined) {
    await Promise.allSettled(dbs.map((db) => db.client.$disconnect()));
    throw failed.reason;
  }
  for (const db of dbs) log.info({ store: db.description }, 'store open');
  const [directoryDb, ...regionDbs] = dbs as [StoreDb, ...StoreDb[]];
  const directory = createDirectory(directoryDb);
  const regions = new Map<RegionId, RegionStore>(regionLocations.map(([region], i) => [region, createRegionStore(region, regionDbs[i]!)]));
  return {
    directory,
    regions,
    async close(): Promise<void> {
      await Promise.allSettled([directory.close(), ...[...regions.values()].map((store) => store.close())]);
    },
  };
}

function assertDistinct(locations: readonly [string, StoreLocation][]): void {
  const seen = new Map<string, string>();
  for (const [name, location] of locations) {
    const key = describeStore(location);
    const other = seen.get(key);
    if (other !== undefined) throw new Error(`stores ${other} and ${name} point at the same database (${key}); each needs its own`);
    seen.set(key, name);
  }
}
