import type { DeviceId } from '../schema/ids.ts';
import type { RegionId } from '../schema/regions.ts';
import type { ServiceAccount } from './config.ts';

/** Who an authenticated connection is; the only input the topic policy trusts besides the topic. */
export type Identity =
  /** The home region, as the registry answered for the secret or the client certificate. */
  | { kind: 'device'; deviceId: DeviceId; region: RegionId }
  | { kind: 'service'; username: string; role: ServiceAccount['role'] };

/** For log lines: names the principal without any secret. */
export function describeIdentity(identity: Identity): string {
  return identity.kind === 'device' ? identity.deviceId : identity.username;
}
