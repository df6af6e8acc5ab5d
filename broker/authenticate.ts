import { createHash, timingSafeEqual } from 'node:crypto';
import { deviceAuthRequestSchema } from '../schema/api.ts';
import { isTlsMqttUrl } from '../mqtt-wire/transport.ts';
import { deviceIdSchema, type DeviceId } from '../schema/ids.ts';
import type { RegionId } from '../schema/regions.ts';
import type { ServiceAccount } from './config.ts';
import type { DeviceVerifier } from './device-verifier.ts';
import type { HomePlanes } from './home-plane.ts';
import type { Identity } from './identity.ts';
import { ConnackReturnCode, ReasonCode, V5_OF_CONNACK, type ConnackRefusal } from '../mqtt-wire/codes.ts';

/**
 * Decides who a CONNECT is, in small named steps tried in order; the first that answers decides.
 * Pure apart from the device verifier it is given. A refusal carries the MQTT 3.1.1 CONNACK return
 * code, the MQTT 5 reason code (finer: a busy registry is 0x89, not 0x88) and a reason for the
 * log; none of them ever contains the password.
 */
export type AuthRefusal = {
  ok: false;
  code: ConnackRefusal;
  reasonCode: number;
  reason: string;
  /** Set when the device lives in another plane: where it belongs and the MQTT URL to send it to. */
  misdirected?: { region: RegionId; serverReference: string };
};
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

type Step = (credentials: ConnectCredentials) => AuthOutcome | Promise<AuthOutcome> | null | Promise<AuthOutcome | null>;

/** This broker's plane and the directory that knows every device's home plane (see broker/home-plane.ts). */
export interface PlaneRouting {
  region: RegionId;
  homes: HomePlanes;
}

export function createAuthenticator(serviceAccounts: readonly ServiceAccount[], devices: DeviceVerifier, plane: PlaneRouting | null = null): Authenticator {
  const accounts = new Map(serviceAccounts.map((a) => [a.username, { role: a.role, digest: digest(a.password) }]));

  // The CA that issued the certificate vouches for the device, so no secret is needed; the client id
  // (and a username, if sent) must still name that device, or it could take over another's session.
  // A certificate outlives an erasure, so the registry is still asked whether the device exists and
  // is not revoked (answers are cached and dropped on revocation like secret checks). With a plane, a
  // certificate device this registry does not know is looked up like a password device (homePlane).
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
          if (plane) return homePlane(plane, deviceId.data, 'certificate');
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

  // With a plane, a device this registry does not know is not refused yet: homePlane() decides.
  async function device({ username, password }: ConnectCredentials): Promise<AuthOutcome | null> {
    const request = deviceAuthRequestSchema.safeParse({ deviceId: username, secret: password?.toString('utf8') });
    if (!request.success) return refuse(ConnackReturnCode.BAD_USERNAME_OR_PASSWORD, 'malformed device credentials');
    const verification = await devices.verify(request.data.deviceId, request.data.secret);
    switch (verification.outcome) {
      case 'valid':
        return { ok: true, identity: { kind: 'device', deviceId: request.data.deviceId, region: verification.region } };
      case 'invalid':
        if (plane) return null;
        return refuse(
          ConnackReturnCode.BAD_USERNAME_OR_PASSWORD,
          verification.remembered ? 'device secret refused from memory (just rejected, or revoked)' : 'device secret rejected by registry',
        );
      case 'unavailable':
        return unavailable(verification);
    }
  }

  /**
   * Reached only for a device login this plane's registry refused (device() and certificate() answer
   * every other one, and checked the id's form). A device at home in another plane is turned away
   * before any of its packets is read as data, with where it belongs: MQTT 5 §4.11 (CONNACK 0x9C and
   * the home plane's MQTT URL as Server Reference, v5 §3.2.2.3.16); 3.1.1 has no way to say where, so
   * it gets CONNACK 3 and asks the directory itself. A certificate device is sent to the home plane's
   * TLS listener, the only place its certificate can log it in; a home plane without one known to the
   * directory leaves it the usual refusal. Unknown to the directory too, or no answer from it: the
   * refusal it would get without planes. Nothing is ever let in here: no credential was accepted.
   */
  async function homePlane(routing: PlaneRouting, deviceId: DeviceId, login: 'secret' | 'certificate'): Promise<AuthOutcome> {
    const home = await routing.homes.lookup(deviceId);
    const usual = login === 'secret' ? ConnackReturnCode.BAD_USERNAME_OR_PASSWORD : ConnackReturnCode.NOT_AUTHORIZED;
    if (home.outcome === 'home' && home.region !== routing.region) {
      const reference = login === 'secret' ? home.mqttUrl : (home.mqttsUrl ?? (isTlsMqttUrl(home.mqttUrl) ? home.mqttUrl : undefined));
      if (reference === undefined) return refuse(usual, `certificate device of plane ${home.region}, which the directory names no TLS listener for`);
      return {
        ...refuse(ConnackReturnCode.SERVER_UNAVAILABLE, `device belongs to plane ${home.region}`, ReasonCode.USE_ANOTHER_SERVER),
        misdirected: { region: home.region, serverReference: reference },
      };
    }
    const why =
      home.outcome === 'home'
        ? `device ${login} rejected by registry`
        : home.outcome === 'unknown'
          ? 'device unknown here and to the directory'
          : `device unknown here, directory unavailable: ${home.reason}`;
    return refuse(usual, why);
  }

  const passwordHome = ({ username }: ConnectCredentials): Promise<AuthOutcome> | null => (plane ? homePlane(plane, username as DeviceId, 'secret') : null);

  const steps: readonly Step[] = [certificate, requireCredentials, serviceAccount, deviceOwnsClientId, device, passwordHome];

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
