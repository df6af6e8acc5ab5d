import type { Aedes, Client } from 'aedes';
import type { Logger } from 'pino';
import { CONTROL_TOPICS, credentialsRevokedSchema } from '../schema/control.ts';
import type { DeviceVerifier } from './device-verifier.ts';
import type { Revocations } from './revocations.ts';

/**
 * Acts on the server's credential revocation notices (schema/control.ts). The notice is heard on
 * aedes' own emitter (broker.subscribe registers there, not as any client's subscription), which in
 * cluster mode is shared through Redis, so every node hears every notice and no client ever gets
 * it. Each node then forgets its cached verification of the device, remembers the revocation (so a
 * login check already under way is not believed) and ends the device's session if it is connected
 * here, or as soon as a login that raced the notice has completed (aedes' clientReady).
 */
export interface RevocationCounters {
  /** Well-formed notices heard. */
  revocationNotices: number;
  /** Notices that did not parse; ignored. */
  revocationNoticesMalformed: number;
  /** Live sessions closed because their device's credentials were revoked. */
  revokedSessions: number;
}

export interface RevocationDeps {
  revocations: Revocations;
  /** Null in the permissive test mode, which checks no device. */
  verifier: DeviceVerifier | null;
  /** Where the session ends: the hooks stop its will and anything else it publishes. */
  endSession(client: Client): void;
  /** Whether the client logged in as a device (its client id is then its device id). */
  isDevice(client: Client): boolean;
  counters: RevocationCounters;
  logger: Logger;
}

export function listenForRevocations(broker: Aedes, deps: RevocationDeps): Promise<void> {
  const { revocations, verifier, counters, logger } = deps;

  broker.on('clientReady', (client) => {
    if (deps.isDevice(client) && revocations.has(client.id, Date.now())) {
      logger.warn({ clientId: client.id, reason: 'credentials_revoked' }, 'session closed: credentials revoked while logging in');
      counters.revokedSessions++;
      deps.endSession(client);
    }
  });

  return new Promise((resolve) => {
    broker.subscribe(
      CONTROL_TOPICS.credentialsRevoked,
      (packet, done) => {
        const notice = credentialsRevokedSchema.safeParse(parseJson(packet.payload));
        if (!notice.success) {
          counters.revocationNoticesMalformed++;
          logger.warn({ topic: packet.topic }, 'malformed credential revocation notice ignored');
          done();
          return;
        }
        const { deviceId } = notice.data;
        counters.revocationNotices++;
        revocations.revoke(deviceId, Date.now());
        verifier?.forget(deviceId);
        const clients: unknown = Reflect.get(broker, 'clients');
        const client: unknown = typeof clients === 'object' && clients !== null ? Reflect.get(clients, deviceId) : undefined;
        if (isClient(client) && !client.closed) {
          counters.revokedSessions++;
          logger.warn({ clientId: deviceId, reason: 'credentials_revoked' }, 'session closed: credentials revoked');
          deps.endSession(client);
        } else {
          logger.info({ deviceId }, 'credentials revoked; no session of the device on this node');
        }
        done();
      },
      () => resolve(),
    );
  });
}

const isClient = (value: unknown): value is Client => typeof value === 'object' && value !== null && typeof Reflect.get(value, 'close') === 'function';

function parseJson(payload: unknown): unknown {
  try {
    return JSON.parse(Buffer.isBuffer(payload) ? payload.toString('utf8') : String(payload));
  } catch {
    return null;
  }
}
