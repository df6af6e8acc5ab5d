import type { DeviceId } from '../schema/ids.ts';
import type { RegionId } from '../schema/regions.ts';
import type { ServiceAccount } from './config.ts';

/** Who an authenticated connection is; the only input the topic policy trusts besides the topic. */
export type Identity =
  /** The home region, as the registry answered for the secret or the client certificate. */
  | { kind: 'device'; deviceId: DeviceId; region: RegionId }
  | { kind: 'service'; username: string; role: ServiceAccount['role'] }
  /** Anyone, in the unsafe permissive test mode only (broker/permissive-test-mode.ts). */
  | { kind: 'test-client'; clientId: string };

/** For log lines: names the principal without any secret. */
export function describeIdentity(identity: Identity): string {
  switch (identity.kind) {
    case 'device':
      return identity.deviceId;
    case 'service':
      return identity.username;
    case 'test-client':
      return `test-client ${identity.clientId}`;
  }
}
