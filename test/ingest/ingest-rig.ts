import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import type { ConsentCategories } from '../../schema/consent.ts';
import type { RegionId } from '../../schema/regions.ts';
import { topics } from '../../schema/topics.ts';
import { serverConfigSchema, type ServerConfigInput } from '../../server/config.ts';
import { ConsentService } from '../../server/consent/consent-service.ts';
import { DirectoryCache } from '../../server/devices/directory-cache.ts';
import { createIngest, type Ingest } from '../../server/ingest/ingest.ts';
import type { IngestOutcome } from '../../server/ingest/message.ts';
import { IngestStats } from '../../server/ingest/stats.ts';
import { createMetrics, type Metrics } from '../../server/metrics/metrics.ts';
import { openStores } from '../../server/store/open-stores.ts';
import type { EventRow, RefusalRow, Stores } from '../../server/store/types.ts';
import { createTempDatabases, postgresReachable } from '../server/store/pg-temp-databases.ts';

export type Flavour = 'sqlite' | 'postgres';

const ALL: ConsentCategories = { usage: true, location: 'exact', payment: true, diagnostics: true };

/** Which store flavours to run on: PostgreSQL when it runs here, and always under CI=true (where its absence fails). */
export async function flavours(): Promise<Flavour[]> {
  const available = await postgresReachable();
  if (!available && process.env.CI === 'true') throw new Error('PostgreSQL is not reachable on 127.0.0.1:5432 and CI=true requires it');
  return available ? ['sqlite', 'postgres'] : ['sqlite'];
}

/**
 * The real ingest (every step, group commit, retry and splitting) over real stores of either
 * flavour, fed through `Ingest.handle` as the MQTT source does, with what it reports to the live feed.
 */
export interface IngestRig {
  ingest: Ingest;
  stores: Stores;
  stats: IngestStats;
  metrics: Metrics;
  /** Store URL per region (file:… or postgresql://…), for reading the databases directly. */
  urls: Record<RegionId, string>;
  /** Rows as ingest reported them committed (the dashboard's live feed). */
  committed: { events: EventRow[]; refusals: RefusalRow[] };
  /** A fresh device registered in `region` (under `id` when given), consenting to everything for the past week. */
  device(region: RegionId, id?: string): Promise<string>;
  send(topic: string, payload: unknown, receivedAt?: Date): Promise<IngestOutcome>;
  close(): Promise<void>;
}

export async function openIngestRig(flavour: Flavour, ingest: ServerConfigInput['ingest'] = {}): Promise<IngestRig> {
  const dataDir = await mkdtemp(join(tmpdir(), `brewtel-ingest-${flavour}-`));
  const pgDbs = flavour === 'postgres' ? await createTempDatabases(['dir', 'eu', 'us']) : null;
  const urls: Record<RegionId, string> = pgDbs
    ? { eu: pgDbs.urls.eu!, us: pgDbs.urls.us! }
    : { eu: `file:${join(dataDir, 'eu.db')}`, us: `file:${join(dataDir, 'us.db')}` };
  const logger = pino({ level: 'silent' });
  const config = serverConfigSchema.parse({
    regions: ['eu', 'us'],
    dataDir,
    adminToken: 'rig-admin-token-0123',
    brokerToken: 'rig-broker-token-0123',
    logLevel: 'silent',
    ingest: { lingerMs: 20, quarantinePayloads: true, ...ingest },
    ...(pgDbs ? { stores: urls, directoryUrl: pgDbs.urls.dir! } : {}),
  });
  const stores = await openStores(
    { regions: config.regions, dataDir, stores: config.stores, ...(config.directoryUrl ? { directoryUrl: config.directoryUrl } : {}) },
    logger,
  );
  const metrics = createMetrics();
  const stats = new IngestStats(config.regions, metrics);
  const consent = new ConsentService(stores.regions, { publish: () => Promise.reject(new Error('the rig has no broker')) }, 0, logger);
  const committed: IngestRig['committed'] = { events: [], refusals: [] };
  const tombstoned = async (region: RegionId, deviceId: string): Promise<boolean> => (await stores.regions.get(region)!.tombstoned()).includes(deviceId);
  const running = createIngest({
    config: config.ingest,
    stores,
    directory: new DirectoryCache(stores.directory),
    consent,
    stats,
    metrics,
    logger,
    // Asks the store every time (nothing from memory), so a test's tombstone counts at once.
    tombstones: { known: () => undefined, has: tombstoned },
    committed: {
      eventsCommitted: (_region, rows) => committed.events.push(...rows),
      refusalsCommitted: (_region, rows) => committed.refusals.push(...rows),
    },
  });
  const since = new Date(Date.now() - 7 * 86_400_000);
  return {
    ingest: running,
    stores,
    stats,
    metrics,
    urls,
    committed,
    async device(region, id) {
      const deviceId = id ?? `cm-rig${randomBytes(6).toString('hex')}`;
      await stores.directory.register({ deviceId, region, secretHash: 'rig-no-secret', createdAt: since });
      const store = stores.regions.get(region)!;
      await store.addDevice(deviceId, since);
      await store.appendConsent({ deviceId, version: 1, issuedAt: since, categories: ALL, actor: 'rig', channel: 'provisioning' });
      return deviceId;
    },
    send(topic, payload, receivedAt = new Date()) {
      const bytes = Buffer.isBuffer(payload) ? payload : Buffer.from(typeof payload === 'string' ? payload : JSON.stringify(payload));
      return running.handle({ topic, payload: bytes, receivedAt });
    },
    async close() {
      await running.close();
      await stores.close();
      await pgDbs?.drop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

export const eventTopic = (deviceId: string, kind = 'brew'): string => topics.event(deviceId, kind as 'brew');
