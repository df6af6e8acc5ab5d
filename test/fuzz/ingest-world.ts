import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import pino from 'pino';
import type { ConsentCategories } from '../../schema/consent.ts';
import { serverConfigSchema } from '../../server/config.ts';
import { ConsentService } from '../../server/consent/consent-service.ts';
import { DirectoryCache } from '../../server/devices/directory-cache.ts';
import { createIngest, type Ingest } from '../../server/ingest/ingest.ts';
import { IngestStats } from '../../server/ingest/stats.ts';
import { createMetrics } from '../../server/metrics/metrics.ts';
import { openStores } from '../../server/store/open-stores.ts';
import { readRegionStore, type StoredEventRow } from '../support/sqlite-stores.ts';
import { createTempDatabases, postgresReachable } from '../server/store/pg-temp-databases.ts';
import type { ClockWindow, LedgerEntry, Sender } from './oracle.ts';

/**
 * The real ingest (all steps, group commit) over real stores, SQLite in a temporary folder or
 * PostgreSQL in temporary databases, with a small population of devices whose consent ledgers cover
 * every case the oracle distinguishes.
 */
export const STORED_REGIONS = ['eu', 'us'];
const DAY = 86_400_000;
const HOUR = 3_600_000;

export type StoreFlavour = 'sqlite' | 'postgres';

/** The flavours to fuzz: PostgreSQL too when it runs here, and always under CI=true (where its absence fails). */
export async function fuzzFlavours(wanted: readonly StoreFlavour[] = ['sqlite', 'postgres']): Promise<StoreFlavour[]> {
  if (!wanted.includes('postgres')) return [...wanted];
  const available = await postgresReachable();
  if (!available && process.env.CI === 'true') throw new Error('PostgreSQL is not reachable on 127.0.0.1:5432 and CI=true requires the fuzz to run on it');
  return available ? [...wanted] : wanted.filter((f) => f !== 'postgres');
}

export interface FuzzDevice {
  id: string;
  /** null: never registered. */
  region: string | null;
  ledger: LedgerEntry[];
}

export interface IngestWorld {
  flavour: StoreFlavour;
  ingest: Ingest;
  devices: FuzzDevice[];
  /** Every event row of a region's store, read around the server. */
  events(region: string): Promise<StoredEventRow[]>;
  /** The receive time every message is handed over with, and the server's device-clock window. */
  receivedAt: number;
  clock: ClockWindow;
  /** Device clocks are generated in [tsMin, tsMax]: before the first consent, and past both edges of the clock window. */
  tsMin: number;
  tsMax: number;
  senderOf(deviceId: string): Sender;
  close(): Promise<void>;
}

const ALL: ConsentCategories = { usage: true, location: 'exact', payment: true, diagnostics: true };

export async function openIngestWorld(flavour: StoreFlavour = 'sqlite'): Promise<IngestWorld> {
  const now = Date.now();
  const t0 = now - 7 * DAY;
  const t1 = now - DAY;
  const id = (tag: string): string => `cm-fz${tag}${randomBytes(5).toString('hex')}`;
  const devices: FuzzDevice[] = [
    { id: id('full'), region: 'eu', ledger: [{ version: 1, issuedAt: t0, categories: ALL }] },
    { id: id('full'), region: 'us', ledger: [{ version: 1, issuedAt: t0, categories: ALL }] },
    {
      id: id('part'),
      region: 'eu',
      ledger: [{ version: 1, issuedAt: t0, categories: { usage: true, location: 'coarse', payment: false, diagnostics: false } }],
    },
    // A partial withdrawal a day ago: before it, everything was consented.
    {
      id: id('wdrn'),
      region: 'us',
      ledger: [
        { version: 1, issuedAt: t0, categories: ALL },
        { version: 2, issuedAt: t1, categories: { usage: false, location: 'coarse', payment: false, diagnostics: true } },
      ],
    },
    // Consent given only a day ago: what happened before it stays unconsented.
    {
      id: id('late'),
      region: 'eu',
      ledger: [
        { version: 1, issuedAt: t0, categories: { usage: false, location: 'none', payment: false, diagnostics: false } },
        { version: 2, issuedAt: t1, categories: ALL },
      ],
    },
    { id: id('none'), region: 'eu', ledger: [] },
    // Registered in a region this deployment has no store for.
    { id: id('lost'), region: 'cn', ledger: [{ version: 1, issuedAt: t0, categories: ALL }] },
    { id: id('unkn'), region: null, ledger: [] },
  ];

  const dataDir = await mkdtemp(join(tmpdir(), 'brewtel-fuzz-'));
  const pgDbs = flavour === 'postgres' ? await createTempDatabases(['dir', 'eu', 'us']) : null;
  const urls: Record<string, string> = pgDbs ? { eu: pgDbs.urls.eu!, us: pgDbs.urls.us! } : {};
  const logger = pino({ level: 'silent' });
  // Generated clocks reach half a day past each edge: 8 days back (the first consent is 7 days old), a day ahead.
  const clock: ClockWindow = { aheadMs: 12 * HOUR, behindMs: 7.5 * DAY };
  const config = serverConfigSchema.parse({
    regions: STORED_REGIONS,
    dataDir,
    adminToken: 'fuzz-admin-token-0123',
    brokerToken: 'fuzz-broker-token-0123',
    logLevel: 'silent',
    ingest: { clockAheadMs: clock.aheadMs, clockBehindMs: clock.behindMs },
  });
  const stores = await openStores({ regions: config.regions, dataDir, stores: urls, ...(pgDbs ? { directoryUrl: pgDbs.urls.dir! } : {}) }, logger);
  for (const device of devices) {
    if (!device.region) continue;
    await stores.directory.register({ deviceId: device.id, region: device.region, secretHash: 'fuzz-no-secret', createdAt: new Date(t0) });
    const store = stores.regions.get(device.region);
    if (!store) continue;
    await store.addDevice(device.id, new Date(t0));
    for (const entry of device.ledger) {
      await store.appendConsent({
        deviceId: device.id,
        version: entry.version,
        issuedAt: new Date(entry.issuedAt),
        categories: entry.categories,
        actor: 'fuzz',
        channel: 'provisioning',
      });
    }
  }
  const metrics = createMetrics();
  const consent = new ConsentService(stores.regions, { publish: () => Promise.reject(new Error('the fuzz world has no broker')) }, 0, logger);
  const ingest = createIngest({
    config: config.ingest,
    stores,
    directory: new DirectoryCache(stores.directory),
    consent,
    stats: new IngestStats(config.regions, metrics),
    metrics,
    logger,
  });
  const byId = new Map(devices.map((d) => [d.id, d]));
  return {
    flavour,
    ingest,
    devices,
    receivedAt: now,
    clock,
    async events(region) {
      if (!pgDbs) return readRegionStore(dataDir, region).events;
      const client = new pg.Client({ connectionString: urls[region]! });
      await client.connect();
      try {
        return (await client.query<StoredEventRow>('SELECT "id", "deviceId", "kind", "body" FROM "Event"')).rows;
      } finally {
        await client.end();
      }
    },
    tsMin: t0 - DAY,
    tsMax: now + DAY,
    senderOf(deviceId) {
      const device = byId.get(deviceId);
      if (!device?.region) return { registered: false };
      return { registered: true, storedRegion: STORED_REGIONS.includes(device.region), ledger: device.ledger };
    },
    async close() {
      await ingest.close();
      await stores.close();
      await pgDbs?.drop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
