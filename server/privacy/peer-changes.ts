import type { Logger } from 'pino';
import type { ConsentService } from '../consent/consent-service.ts';
import type { DirectoryCache } from '../devices/directory-cache.ts';
import type { RegionStore } from '../store/types.ts';
import type { TombstoneCache } from './tombstones.ts';

/**
 * Several server processes share the region stores; each caches ledgers and tombstones in memory.
 * This polls every region for consent versions and tombstones written since the last look (by any
 * process) and drops or adds them here, so another process's withdrawal or erasure is enforced by
 * this one's ingest within one interval, and an erased device's directory entry (its revoked
 * credentials) is no longer served from this process's cache. The look-back overlaps by `clockSkewMs`, because the rows'
 * times come from the writing process's clock.
 */
export function watchPeerChanges(
  deps: { regions: ReadonlyMap<string, RegionStore>; consent: ConsentService; tombstones: TombstoneCache; directory?: DirectoryCache },
  options: { intervalMs: number; clockSkewMs: number },
  logger: Logger,
): { stop(): Promise<void> } {
  let since = new Date(Date.now() - options.clockSkewMs);
  let running: Promise<void> = Promise.resolve();
  const poll = async (): Promise<void> => {
    const next = new Date(Date.now() - options.clockSkewMs);
    for (const [region, store] of deps.regions) {
      try {
        const changed = await store.changedSince(since);
        for (const { deviceId, version } of changed.consent) deps.consent.forgetOlderThan(deviceId, version);
        if (changed.tombstoned.length > 0) await deps.tombstones.add(region, changed.tombstoned);
        for (const id of changed.tombstoned) deps.directory?.forget(id);
      } catch (err) {
        // The window is kept, so the next poll catches up on what this one missed.
        logger.warn({ err, region }, 'could not read consent and tombstone changes');
        return;
      }
    }
    since = next;
  };
  const timer = setInterval(() => {
    running = running.then(poll);
  }, options.intervalMs);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}
