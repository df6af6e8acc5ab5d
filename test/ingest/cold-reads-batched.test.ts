import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConsentService } from '../../server/consent/consent-service.ts';
import { DirectoryCache } from '../../server/devices/directory-cache.ts';
import { openStores } from '../../server/store/open-stores.ts';
import type { ConsentRow, Directory, RegionStore, Stores } from '../../server/store/types.ts';

const logger = pino({ level: 'silent' });
const noBroker = { publish: async () => undefined };
const DEVICES = 300;

/**
 * A fleet's first events each need the sender's directory entry and consent ledger. Asked for all at
 * once (as ingest does when a fleet comes online), they are read in a few queries over real SQLite
 * stores, and every device gets exactly its own answer.
 */
describe('first reads of many devices at once', () => {
  let dataDir: string;
  let stores: Stores;
  const ids = Array.from({ length: DEVICES }, (_, i) => `cm-cold${String(i).padStart(11, '0')}`);

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'brewtel-cold-reads-'));
    stores = await openStores({ regions: ['eu'], dataDir, stores: {}, directoryUrl: undefined }, logger);
    const createdAt = new Date();
    const eu = stores.regions.get('eu')!;
    await stores.directory.registerMany(ids.map((deviceId) => ({ deviceId, region: 'eu', secretHash: 'test-no-secret', createdAt })));
    const ledger = (deviceId: string, version: number): ConsentRow => ({
      deviceId,
      version,
      issuedAt: createdAt,
      categories: { usage: true, location: 'none', payment: version % 2 === 0, diagnostics: false },
      actor: 'test',
      channel: 'provisioning',
    });
    await eu.addDevicesWithConsent(
      ids.map((deviceId) => ({ deviceId, createdAt })),
      ids.map((deviceId) => ledger(deviceId, 1)),
    );
    // Every third device has a second version: ledgers of different lengths in one read.
    await eu.appendConsents(ids.filter((_, i) => i % 3 === 0).map((deviceId) => ledger(deviceId, 2)));
  });
  afterAll(async () => {
    await stores?.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('reads the directory entries of 300 devices in a few queries, unknown ones answered null', async () => {
    let singleReads = 0;
    let batchReads = 0;
    const counting: Directory = {
      ...stores.directory,
      lookup: (id) => {
        singleReads++;
        return stores.directory.lookup(id);
      },
      lookupMany: (idsOfBatch) => {
        batchReads++;
        return stores.directory.lookupMany(idsOfBatch);
      },
    };
    const cache = new DirectoryCache(counting);
    const entries = await Promise.all([...ids, 'cm-coldunknown00000'].map((id) => cache.lookup(id)));
    expect(entries.slice(0, DEVICES).map((e) => e?.deviceId)).toEqual(ids);
    expect(entries.at(-1)).toBeNull();
    expect(singleReads + batchReads).toBeLessThanOrEqual(10);
    // Hits stay in memory: asking again reads nothing.
    await Promise.all(ids.map((id) => cache.lookup(id)));
    expect(singleReads + batchReads).toBeLessThanOrEqual(10);
  });

  it('reads the consent ledgers of 300 devices in a few queries, each its own, in version order', async () => {
    const eu = stores.regions.get('eu')!;
    let reads = 0;
    const counting: RegionStore = {
      ...eu,
      consentHistory: (id) => {
        reads++;
        return eu.consentHistory(id);
      },
      consentHistories: (idsOfBatch) => {
        reads++;
        return eu.consentHistories(idsOfBatch);
      },
    };
    const consent = new ConsentService(new Map([['eu', counting]]), noBroker, 100, logger);
    const ledgers = await Promise.all(ids.map((id) => consent.ledger(id, 'eu')));
    ledgers.forEach((ledger, i) => {
      expect(ledger.map((row) => row.deviceId)).toEqual(i % 3 === 0 ? [ids[i], ids[i]] : [ids[i]]);
      expect(ledger.map((row) => row.version)).toEqual(i % 3 === 0 ? [1, 2] : [1]);
    });
    expect(reads).toBeLessThanOrEqual(10);
    expect(await consent.ledger('cm-coldunknown00000', 'eu')).toEqual([]);
  });
});
