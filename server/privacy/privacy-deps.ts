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
  /**
   * Removes every retained message of the device from the broker (its state and its consent
   * record); fire and forget like wipeLocalData.
   */
  clearRetainedMessages?(deviceId: string): void;
  /**
   * Tells every broker node that the device's credentials are revoked: each drops its cached
   * verification and closes the device's session. Resolves once the broker acknowledged the notice
   * or a bounded wait ran out (logged; the notice is still resent on reconnect); never rejects.
   */
  revokeAtBroker?(deviceId: string): Promise<void>;
  /** A plane's last erasure step: the global directory forgets where the erased devices lived. */
  forgetAtGlobalDirectory?(deviceIds: readonly string[]): Promise<void>;
}
