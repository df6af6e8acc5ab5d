import { NO_CONSENT, type ConsentCategories } from '../../schema/consent.ts';
import type { ProvisionDeviceResponse } from '../../schema/api.ts';
import type { RegionId } from '../../schema/regions.ts';
import type { ConsentService } from '../consent/consent-service.ts';
import type { RegionStore } from '../store/types.ts';
import { mintDeviceId, mintSecret, type SecretHasher } from './credentials.ts';
import type { DirectoryCache } from './directory-cache.ts';

export interface ProvisionDeps {
  directory: DirectoryCache;
  consent: ConsentService;
  deviceSecrets: SecretHasher;
}

/**
 * Creates a device in its home region. Order matters: the region store and the first consent record
 * exist before the directory entry, so the moment ingest can route the device its ledger is there.
 * The secret leaves this function once and is kept only as a keyed hash.
 */
export async function provisionDevice(
  deps: ProvisionDeps,
  store: RegionStore,
  request: { region: RegionId; consent?: ConsentCategories | undefined },
  actor: string,
): Promise<ProvisionDeviceResponse> {
  const deviceId = mintDeviceId();
  const secret = mintSecret();
  const secretHash = deps.deviceSecrets.hash(deviceId, secret);
  const createdAt = new Date();
  await store.addDevice(deviceId, createdAt);
  const consent = await deps.consent.change({
    deviceId,
    region: request.region,
    categories: request.consent ?? NO_CONSENT,
    actor,
    channel: 'provisioning',
  });
  const entry = { deviceId, region: request.region, secretHash, createdAt };
  await deps.directory.directory.register(entry);
  deps.directory.remember(entry);
  return { id: deviceId, region: request.region, secret, consent };
}
