import type { ConsentService } from '../consent/consent-service.ts';
import type { ServerConfig } from '../config.ts';
import type { DirectoryCache } from '../devices/directory-cache.ts';
import type { Stores } from '../store/types.ts';
import type { AuditLogs } from './audit-logs.ts';
import type { PrivacyDeps } from './privacy-deps.ts';
import { OwnerKeys } from './owner-seal.ts';
import { loadPseudonymSecrets } from './pseudonym-keys.ts';
import { TombstoneCache } from './tombstones.ts';

/**
 * Assembles the privacy operations over open stores (reads or creates the pseudonym secrets, opens
 * the key vaults: close them with `ownerKeys.close()`). The audit logs come in made, because the
 * consent service writes to them too.
 */
export function createPrivacy(
  config: Pick<ServerConfig, 'privacy' | 'regions' | 'dataDir'>,
  stores: Stores,
  directory: DirectoryCache,
  consent: ConsentService,
  audit: AuditLogs,
  broker: Pick<PrivacyDeps, 'wipeLocalData' | 'clearRetainedMessages' | 'revokeAtBroker' | 'forgetAtGlobalDirectory'> = {},
): PrivacyDeps {
  return {
    ...broker,
    config: config.privacy,
    stores,
    directory,
    consent,
    audit,
    tombstones: new TombstoneCache(stores.regions),
    pseudonymSecrets: loadPseudonymSecrets(config.regions, config.privacy.pseudonymSecrets, config.dataDir),
    ownerKeys: new OwnerKeys(config.regions, config.privacy.keyVaults, config.dataDir),
  };
}
