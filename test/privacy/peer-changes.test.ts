import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConsentService } from '../../server/consent/consent-service.ts';
import { DirectoryCache } from '../../server/devices/directory-cache.ts';
import { watchPeerChanges } from '../../server/privacy/peer-changes.ts';
import { TombstoneCache } from '../../server/privacy/tombstones.ts';
import { openStores } from '../../server/store/open-stores.ts';
import type { Stores } from '../../server/store/types.ts';
import { ALL_CONSENT, eventually } from '../server/app/helpers.ts';

const logger = pino({ level: 'silent' });
const noBroker = { publish: async () => undefined };
let dataDir: string;
/** Two server processes' views of the same region stores. */
let a: Stores;
let b: Stores;

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'brewtel-peers-'));
  a = await openStores({ regions: ['eu'], dataDir, stores: {} }, logger);
  b = await openStores({ regions: ['eu'], dataDir, stores: {} }, logger);
});
afterAll(async () => {
  await a?.close();
  await b?.close();
  await rm(dataDir, { recursive: true, force: true });
});

describe('changes made by another server process', () => {
  it('reach this process: a withdrawal drops the cached ledger, an erasure adds the tombstone and drops the cached directory entry', async () => {
    const consentA = new ConsentService(a.regions, noBroker, 100, logger);
    const consentB = new ConsentService(b.regions, noBroker, 100, logger);
    const tombstonesB = new TombstoneCache(b.regions);
    const directoryB = new DirectoryCache(b.directory);
    const watcher = watchPeerChanges(
      { regions: b.regions, consent: consentB, tombstones: tombstonesB, directory: directoryB },
      { intervalMs: 50, clockSkewMs: 1_000 },
      logger,
    );
    try {
      const deviceId = 'cm-peerpeerpeerpeer';
      await a.directory.register({ deviceId, region: 'eu', secretHash: 'scrypt$16384$8$1$c2FsdA$a2V5', createdAt: new Date() });
      expect((await directoryB.lookup(deviceId))?.secretHash).toMatch(/^scrypt\$/);
      expect(directoryB.cached(deviceId)?.secretHash).toMatch(/^scrypt\$/);
      await a.regions.get('eu')!.addDevice(deviceId, new Date());
      await consentA.change({ deviceId, region: 'eu', categories: ALL_CONSENT, actor: 'test', channel: 'api' });
      expect((await consentB.current(deviceId, 'eu'))?.version).toBe(1);
      expect(await tombstonesB.has('eu', deviceId)).toBe(false);
      // Ingest's answers from memory (ingest.ts) agree with the awaited ones, before and after each change.
      expect(tombstonesB.known('eu', deviceId)).toBe(false);
      expect(consentB.cachedLedger(deviceId)?.at(-1)?.version).toBe(1);

      await consentA.change({ deviceId, region: 'eu', categories: { ...ALL_CONSENT, usage: false }, actor: 'test', channel: 'api' });
      await eventually(async () => expect((await consentB.current(deviceId, 'eu'))?.categories.usage).toBe(false), 5_000);
      expect(consentB.cachedLedger(deviceId)?.at(-1)?.categories.usage).toBe(false);

      await a.directory.revoke(deviceId);
      await a.regions.get('eu')!.erase({ deviceIds: [deviceId], ownerPseudonym: null, erasedAt: new Date(), cause: 'device_deletion' });
      await eventually(async () => expect(await tombstonesB.has('eu', deviceId)).toBe(true), 5_000);
      expect(tombstonesB.known('eu', deviceId)).toBe(true);
      // The revoked entry is read again, not served from B's memory.
      await eventually(async () => expect((await directoryB.lookup(deviceId))?.secretHash).toBe('revoked'), 5_000);
      expect(directoryB.cached(deviceId)?.secretHash).toBe('revoked');
    } finally {
      await watcher.stop();
    }
  });

  it("keeps a ledger that already holds the version the poll reports (this process's own append), drops one that does not", async () => {
    const reads: string[] = [];
    const eu = b.regions.get('eu')!;
    // Ledgers not cached are read in batches (consentHistories); the single read is counted too.
    const consentHistory = (id: string) => {
      reads.push(id);
      return eu.consentHistory(id);
    };
    const consentHistories = (ids: readonly string[]) => {
      reads.push(...ids);
      return eu.consentHistories(ids);
    };
    const counting = new Map([['eu', { ...eu, consentHistory, consentHistories }]]);
    const consent = new ConsentService(counting, noBroker, 100, logger);
    const deviceId = 'cm-ownownownownown1';
    await eu.addDevice(deviceId, new Date());
    await consent.change({ deviceId, region: 'eu', categories: ALL_CONSENT, actor: 'test', channel: 'api' });
    expect(reads).toEqual([deviceId]);
    consent.forgetOlderThan(deviceId, 1);
    expect((await consent.current(deviceId, 'eu'))?.version).toBe(1);
    expect(reads).toHaveLength(1);
    // Another process appended version 2: read again.
    consent.forgetOlderThan(deviceId, 2);
    await consent.current(deviceId, 'eu');
    expect(reads).toHaveLength(2);
  });
});
