import type { Logger } from 'pino';
import type { Directory } from '../store/types.ts';
import type { ConsentService } from './consent-service.ts';

/** Enough to keep the broker busy without queueing thousands of publishes at once. */
const CONCURRENCY = 16;

/**
 * The ledger is the source of truth; the broker's retained copy is only a cache of it. A broker
 * that comes back without our session (an in-memory broker restarted, a new node) has lost the
 * retained consent records too, so every device's current record is pushed again. Without this,
 * compliant machines would wait for consent forever and publish nothing.
 */
export async function republishConsents(directory: Directory, consent: ConsentService, logger: Logger): Promise<number> {
  const entries = await directory.list();
  let next = 0;
  let published = 0;
  const worker = async (): Promise<void> => {
    while (next < entries.length) {
      const entry = entries[next++];
      if (!entry) break;
      try {
        if (await consent.republish(entry.deviceId, entry.region)) published++;
      } catch (err) {
        logger.warn({ err, deviceId: entry.deviceId }, 'could not republish consent');
      }
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  logger.info({ devices: entries.length, published }, 'consent records republished');
  return published;
}
