import { NO_CONSENT, type ConsentCategories } from '../../schema/consent.ts';
import type { ProvisionDeviceResponse } from '../../schema/api.ts';
import type { RegionId } from '../../schema/regions.ts';
import type { ConsentService } from '../consent/consent-service.ts';
import type { ConsentRow, DirectoryEntry, RegionStore } from '../store/types.ts';
import { mintDeviceId, mintSecret, type SecretHasher } from './credentials.ts';
import type { BrokerCredentials } from './broker-credentials.ts';
import type { DirectoryCache } from './directory-cache.ts';
import { groupBy } from '../group-by.ts';

export interface ProvisionDeps {
  directory: DirectoryCache;
  consent: ConsentService;
  deviceSecrets: SecretHasher;
  /** A broker with its own copy of the credentials (Mosquitto), told while the secret is still at hand. */
  brokerCredentials?: BrokerCredentials | undefined;
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
  // After the directory entry: a reconciling process that reads the registry keeps this line.
  await deps.brokerCredentials?.added([{ deviceId, secret }]);
  return { id: deviceId, region: request.region, secret, consent };
}

/** One device of a batch: where it lives and the owner's choices (nothing consented when omitted). */
export interface BatchRequest {
  region: RegionId;
  consent?: ConsentCategories | undefined;
}

/**
 * Provisions many devices with one transaction per region store and one in the directory, in the
 * same order as one at a time: every region's devices and first ledger versions, then the consent
 * audit and push, then the directory entries that make them routable. A failing store leaves the
 * regions already written with devices no directory entry names (unroutable, their secrets never
 * shown); nothing in the directory is partial. Answers in the order of the requests.
 */
export async function provisionDevices(
  deps: ProvisionDeps,
  storeOf: (region: RegionId) => RegionStore,
  requests: readonly BatchRequest[],
  actor: string,
): Promise<ProvisionDeviceResponse[]> {
  const createdAt = new Date();
  const minted = requests.map((request) => ({
    deviceId: mintDeviceId(),
    secret: mintSecret(),
    region: request.region,
    categories: request.consent ?? NO_CONSENT,
  }));
  const byRegion = groupBy(minted, (device) => device.region);

  const consentOf = new Map<string, ProvisionDeviceResponse['consent']>();
  for (const [region, devices] of byRegion) {
    const rows: ConsentRow[] = devices.map((d) => ({
      deviceId: d.deviceId,
      version: 1,
      issuedAt: createdAt,
      categories: { ...d.categories },
      actor,
      channel: 'provisioning',
    }));
    await storeOf(region).addDevicesWithConsent(
      devices.map((d) => ({ deviceId: d.deviceId, createdAt })),
      rows,
    );
    const records = await deps.consent.provisioned(rows, region);
    for (const record of records) consentOf.set(record.deviceId, record);
  }

  const entries: DirectoryEntry[] = minted.map((d) => ({
    deviceId: d.deviceId,
    region: d.region,
    secretHash: deps.deviceSecrets.hash(d.deviceId, d.secret),
    createdAt,
  }));
  await deps.directory.directory.registerMany(entries);
  for (const entry of entries) deps.directory.remember(entry);
  await deps.brokerCredentials?.added(minted.map((d) => ({ deviceId: d.deviceId, secret: d.secret })));
  return minted.map((d) => ({ id: d.deviceId, region: d.region, secret: d.secret, consent: consentOf.get(d.deviceId)! }));
}
