import type { RegionId } from '../../schema/regions.ts';
import type { ConsentService } from '../consent/consent-service.ts';
import type { PrivacyConfig } from '../config.ts';
import type { DirectoryCache } from '../devices/directory-cache.ts';
import type { Stores } from '../store/types.ts';
import type { AuditLogs } from './audit-logs.ts';
import type { OwnerKeys } from './owner-seal.ts';
import type { TombstoneCache } from './tombstones.ts';

/** What the privacy operations work with, passed in explicitly. */
export interface PrivacyDeps {
  config: PrivacyConfig;
  stores: Stores;
  directory: DirectoryCache;
  consent: ConsentService;
  audit: AuditLogs;
  tombstones: TombstoneCache;
  pseudonymSecrets: ReadonlyMap<RegionId, string>;
  /** Each region's vault of owner keys (crypto-shredding: erasure destroys the owner's key). */
  ownerKeys: OwnerKeys;
  /**
   * Asks an erased device to wipe what it holds locally (the `wipe-local-data` command). Fire and
   * forget: an offline device simply never hears it, and the tombstone refuses what it still sends.
   */
  wipeLocalData?(deviceId: string): void;
  /** Removes the device's retained consent record from the broker; fire and forget like wipeLocalData. */
  clearRetainedConsent?(deviceId: string): void;
}
