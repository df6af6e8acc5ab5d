import { createHash, timingSafeEqual } from 'node:crypto';
import { deviceAuthRequestSchema } from '../schema/api.ts';
import { deviceIdSchema } from '../schema/ids.ts';
import type { ServiceAccount } from './config.ts';
import type { DeviceVerifier } from './device-verifier.ts';
import type { Identity } from './identity.ts';
import { ConnackReturnCode, ReasonCode, V5_OF_CONNACK, type ConnackRefusal } from '../mqtt-wire/codes.ts';

/**
 * Decides who a CONNECT is, in small named steps tried in order; the first that answers decides.
 * Pure apart from the device verifier it is given. A refusal carries the MQTT 3.1.1 CONNACK return
 * code, the MQTT 5 reason code (finer: a busy registry is 0x89, not 0x88) and a reason for the
 * log; none of them ever contains the password.
 */
export type AuthRefusal = { ok: false; code: ConnackRefusal; reasonCode: number; reason: string };
export type AuthOutcome = { ok: true; identity: Identity } | AuthRefusal;

export interface ConnectCredentials {
  clientId: string;
  username: string | undefined;
  password: Buffer | undefined;
  /** The CN of a client certificate the TLS listener verified against its CA, else undefined. */
  certificateName?: string | undefined;
}

export interface Authenticator {
  authenticate(credentials: ConnectCredentials): Promise<AuthOutcome>;
}

const SERVICE_PREFIX = 'svc-';

type Step = (credentials: ConnectCredentials) => AuthOutcome | Promise<AuthOutcome> | null;

export function createAuthenticator(serviceAccounts: readonly ServiceAccount[], devices: DeviceVerifier): Authenticator {
  const accounts = new Map(serviceAccounts.map((a) => [a.username, { role: a.role, digest: digest(a.password) }]));

  // The CA that issued the certificate vouches for the device, so no secret is needed; the client id
  // (and a username, if sent) must still name that device, or it could take over another's session.
  // A certificate outlives an erasure, so the registry is still asked whether the device exists and
  // is not revoked (answers are cached and dropped on revocation like secret checks).
  function certificate({ clientId, username, certificateName }: ConnectCredentials): Promise<AuthOutcome> | AuthOutcome | null {
    if (certificateName === undefined) return null;
    const deviceId = deviceIdSchema.safeParse(certificateName);
    if (!deviceId.success) return refuse(ConnackReturnCode.NOT_AUTHORIZED, 'client certificate does not name a device');
    if (clientId !== deviceId.data || (username !== undefined && username !== deviceId.data)) {
      return refuse(ConnackReturnCode.IDENTIFIER_REJECTED, 'client id differs from the certificate');
    }
    return devices.verifyCertificate(deviceId.data).then((verification) => {
      switch (verification.outcome) {
        case 'valid':
          return { ok: true, identity: { kind: 'device', deviceId: deviceId.data, region: verification.region } };
        case 'invalid':
          return refuse(ConnackReturnCode.NOT_AUTHORIZED, 'certificate device unknown or revoked at the registry');
        case 'unavailable':
          return unavailable(verification);
      }
    });
  }

  function requireCredentials({ username, password }: ConnectCredentials): AuthOutcome | null {
    if (!username || !password || password.length === 0) return refuse(ConnackReturnCode.NOT_AUTHORIZED, 'missing credentials');
    return null;
  }

  // Usernames starting with svc- never reach the device registry, so a device can never be named
  // like a service account.
  function serviceAccount({ clientId, username, password }: ConnectCredentials): AuthOutcome | null {
    if (!username?.startsWith(SERVICE_PREFIX) || !password) return null;
    const account = accounts.get(username);
    // Compare digests even for an unknown name, so timing tells nothing about which names exist.
    const matches = timingSafeEqual(digest(password), account?.digest ?? UNKNOWN_ACCOUNT);
    if (!account || !matches) return refuse(ConnackReturnCode.BAD_USERNAME_OR_PASSWORD, 'bad service account credentials');
    // Service sessions live in the svc- namespace too, so no device can ever own (or take over) one.
    if (!clientId.startsWith(SERVICE_PREFIX)) return refuse(ConnackReturnCode.IDENTIFIER_REJECTED, 'service account client id must start with svc-');
    return { ok: true, identity: { kind: 'service', username, role: account.role } };
  }

  // The client id is the session key: a device logging in under its own name but another's client
  // id would take over that device's session and subscriptions.
  function deviceOwnsClientId({ clientId, username }: ConnectCredentials): AuthOutcome | null {
    return clientId === username ? null : refuse(ConnackReturnCode.IDENTIFIER_REJECTED, 'client id differs from device id');
  }

  async function device({ username, password }: ConnectCredentials): Promise<AuthOutcome> {
    const request = deviceAuthRequestSchema.safeParse({ deviceId: username, secret: password?.toString('utf8') });
    if (!request.success) return refuse(ConnackReturnCode.BAD_USERNAME_OR_PASSWORD, 'malformed device credentials');
    const verification = await devices.verify(request.data.deviceId, request.data.secret);
    switch (verification.outcome) {
      case 'valid':
        return { ok: true, identity: { kind: 'device', deviceId: request.data.deviceId, region: verification.region } };
      case 'invalid':
        return refuse(
          ConnackReturnCode.BAD_USERNAME_OR_PASSWORD,
          verification.remembered ? 'device secret refused from memory (just rejected, or revoked)' : 'device secret rejected by registry',
        );
      case 'unavailable':
        return unavailable(verification);
    }
  }

  const steps: readonly Step[] = [certificate, requireCredentials, serviceAccount, deviceOwnsClientId, device];

  return {
    async authenticate(credentials) {
      for (const step of steps) {
        const outcome = await step(credentials);
        if (outcome) return outcome;
      }
      return refuse(ConnackReturnCode.NOT_AUTHORIZED, 'no step decided');
    },
  };
}

const digest = (secret: string | Buffer): Buffer => createHash('sha256').update(secret).digest();
const UNKNOWN_ACCOUNT = digest('\u0000no such account\u0000');

export const refuse = (code: ConnackRefusal, reason: string, reasonCode: number = V5_OF_CONNACK[code]): AuthRefusal => ({
  ok: false,
  code,
  reasonCode,
  reason,
});

// Too many checks at once is "try again later" (0x89), a registry that does not answer 0x88.
const unavailable = (verification: { reason: string; busy?: true }): AuthRefusal =>
  refuse(
    ConnackReturnCode.SERVER_UNAVAILABLE,
    `device registry unavailable: ${verification.reason}`,
    verification.busy ? ReasonCode.SERVER_BUSY : ReasonCode.SERVER_UNAVAILABLE,
  );
