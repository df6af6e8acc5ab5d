import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import type { ConsentCategories } from '../../schema/consent.ts';
import { serverConfigSchema } from '../../server/config.ts';
import { ConsentService } from '../../server/consent/consent-service.ts';
import { DirectoryCache } from '../../server/devices/directory-cache.ts';
import { createIngest, type Ingest } from '../../server/ingest/ingest.ts';
import { IngestStats } from '../../server/ingest/stats.ts';
import { createMetrics } from '../../server/metrics/metrics.ts';
import { openStores } from '../../server/store/open-stores.ts';
import type { LedgerEntry, Sender } from './oracle.ts';

/**
 * The real ingest (all steps, group commit) over real SQLite stores in a temporary folder, with a
 * small population of devices whose consent ledgers cover every case the oracle distinguishes.
 */
export const STORED_REGIONS = ['eu', 'us'];
const DAY = 86_400_000;

export interface FuzzDevice {
  id: string;
  /** null: never registered. */
  region: string | null;
  ledger: LedgerEntry[];
}

export interface IngestWorld {
  ingest: Ingest;
  dataDir: string;
  devices: FuzzDevice[];
  /** Device clocks are generated in [tsMin, tsMax]: before the first consent and after now (skew). */
  tsMin: number;
  tsMax: number;
  senderOf(deviceId: string): Sender;
  close(): Promise<void>;
}

const ALL: ConsentCategories = { usage: true, location: 'exact', payment: true, diagnostics: true };

export async function openIngestWorld(): Promise<IngestWorld> {
  const now = Date.now();
  const t0 = now - 7 * DAY;
  const t1 = now - DAY;
  const id = (tag: string): string => `cm-fz${tag}${randomBytes(5).toString('hex')}`;
  const devices: FuzzDevice[] = [
    { id: id('full'), region: 'eu', ledger: [{ version: 1, issuedAt: t0, categories: ALL }] },
    { id: id('full'), region: 'us', ledger: [{ version: 1, issuedAt: t0, categories: ALL }] },
    { id: id('part'), region: 'eu', ledger: [{ version: 1, issuedAt: t0, categories: { usage: true, location: 'coarse', payment: false, diagnostics: false } }] },
    // A partial withdrawal a day ago: before it, everything was consented.
    { id: id('wdrn'), region: 'us', ledger: [
      { version: 1, issuedAt: t0, categories: ALL },
      { version: 2, issuedAt: t1, categories: { usage: false, location: 'coarse', payment: false, diagnostics: true } },
    ] },
    // Consent given only a day ago: what happened before it stays unconsented.
    { id: id('late'), region: 'eu', ledger: [
      { version: 1, issuedAt: t0, categories: { usage: false, location: 'none', payment: false, diagnostics: false } },
      { version: 2, issuedAt: t1, categories: ALL },
    ] },
    { id: id('none'), region: 'eu', ledger: [] },
    // Registered in a region this deployment has no store for.
    { id: id('lost'), region: 'cn', ledger: [{ version: 1, issuedAt: t0, categories: ALL }] },
    { id: id('unkn'), region: null, ledger: [] },
  ];

  const dataDir = await mkdtemp(join(tmpdir(), 'brewtel-fuzz-'));
  const logger = pino({ level: 'silent' });
  const config = serverConfigSchema.parse({
    regions: STORED_REGIONS, dataDir, adminToken: 'fuzz-admin-token-0123', brokerToken: 'fuzz-broker-token-0123', logLevel: 'silent',
  });
  const stores = await openStores({ regions: config.regions, dataDir, stores: {} }, logger);
  for (const device of devices) {
    if (!device.region) continue;
    await stores.directory.register({ deviceId: device.id, region: device.region, secretHash: 'fuzz-no-secret', createdAt: new Date(t0) });
    const store = stores.regions.get(device.region);
    if (!store) continue;
    await store.addDevice(device.id, new Date(t0));
    for (const entry of device.ledger) {
      await store.appendConsent({ deviceId: device.id, version: entry.version, issuedAt: new Date(entry.issuedAt), categories: entry.categories, actor: 'fuzz', channel: 'provisioning' });
    }
  }
  const metrics = createMetrics();
  const consent = new ConsentService(stores.regions, { publish: () => Promise.reject(new Error('the fuzz world has no broker')) }, 0, logger);
  const ingest = createIngest({ config: config.ingest, stores, directory: new DirectoryCache(stores.directory), consent, stats: new IngestStats(config.regions, metrics), metrics, logger });
  const byId = new Map(devices.map((d) => [d.id, d]));
  return {
    ingest,
    dataDir,
    devices,
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
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
