import type { AedesOptions, AuthenticateError, Client, PublishPacket } from 'aedes';
import { TLSSocket } from 'node:tls';
import type { Logger } from 'pino';
import { deviceIdSchema } from '../schema/ids.ts';
import { brewtelPolicy, type AclSubject, type PublishVerdict, type TopicPolicy } from './acl-policy.ts';
import type { LoginThrottle } from './auth-throttle.ts';
import { refuse, type Authenticator, type AuthRefusal } from './authenticate.ts';
import type { LimitReason, PublishRateLimit } from './client-limits.ts';
import type { RedirectHook } from './config.ts';
import { refuseConnectV5 } from './connack-refusal.ts';
import { describeIdentity, type Identity } from './identity.ts';
import type { InFlightOut } from './in-flight-out.ts';
import { checkPublishProperties, dropNonPublishProperties } from './publish-properties.ts';
import { ConnackReturnCode, ReasonCode, V5_OF_CONNACK } from '../mqtt-wire/codes.ts';
import { disconnectClient } from './server-disconnect.ts';
import { resumeQueuedMessages } from './session-resume.ts';

/**
 * Adapts the authenticator, the throttle, the limits and the pure topic policy to aedes 2.0's
 * callback hooks, for MQTT 3.1.1 and 5 clients alike. aedes ignores a promise returned by a hook,
 * so async work is bridged to the callback explicitly and every path calls it exactly once. Log
 * lines name the client and topic, never a password or payload.
 *
 * Where MQTT 5 can say why, it does: a refused CONNECT gets its reason code (0x85-0x89, 0x9F), a
 * denied publish PUBACK 0x87 with the connection kept (aedes' answer to an error from
 * authorizePublish for a v5 client), a limit DISCONNECT with its code. A 3.1.1 client keeps what it
 * always got: a 3.1.1 CONNACK code, a closed connection.
 */
export interface HookCounters {
  authFailures: number;
  /** Connection attempts refused without checking credentials, because their source failed too often. */
  authThrottled: number;
  /** Of those, refused for the failures of their whole address (any username). */
  authThrottledByAddress: number;
  denials: number;
  /** Of the denials, publishes refused for their retain flag alone (retain outside the device's state). */
  retainRefused: number;
  /** PUBLISH packets accepted from clients, wills included. */
  messagesIn: number;
  messagesOut: number;
  limitDisconnects: Record<LimitReason, number>;
  /** CONNECTs answered with another server's address (v5: CONNACK 0x9C) by the redirect hook. */
  redirects: number;
  /** Device logins turned away because the directory says they live in another plane (v5 0x9C, 3.1.1 CONNACK 3). */
  misdirected: number;
}

export interface HookDeps {
  authenticator: Authenticator;
  throttle: LoginThrottle;
  publishRate: PublishRateLimit;
  inFlightOut: InFlightOut;
  maxConnections: number;
  connectedClients: () => number;
  counters: HookCounters;
  logger: Logger;
  /** The topic rules; brewtelPolicy unless the unsafe permissive test mode is on. */
  policy?: TopicPolicy;
  /** Consulted after a successful authentication: a server reference sends the client elsewhere. */
  redirect?: RedirectHook | null;
  /** True once the broker is going away: logins are refused, even those already being checked. */
  stoppingLogins?: () => boolean;
}

type Hooks = Required<Pick<AedesOptions, 'authenticate' | 'authorizePublish' | 'authorizeSubscribe' | 'authorizeForward'>>;

export interface AedesHooks {
  hooks: Hooks;
  /**
   * Ends a session whose credentials were revoked: nothing more is read from it and nothing it
   * publishes (its will included) is accepted; the socket closes once what aedes already wrote to it
   * has gone out (at most SESSION_FLUSH_MS later).
   */
  endSession(client: Client): void;
  /** Whether the client logged in as a device. */
  isDevice(client: Client): boolean;
}

const aedesRefusal = (code: number, reason: string, extra: { serverReference?: string; reasonCode?: number } = {}): AuthenticateError =>
  Object.assign(new Error(reason), { returnCode: code, ...extra }) as AuthenticateError;

// Devices publish to a handful of topics, over and over; past this many a client's memo starts over.
const DECISIONS_PER_CLIENT = 64;
/** Longest a revoked session's socket stays open for what was already written to it. */
const SESSION_FLUSH_MS = 1_000;
const EMPTY = Buffer.alloc(0);

export function createAedesHooks(deps: HookDeps): AedesHooks {
  const { authenticator, throttle, publishRate, inFlightOut, maxConnections, connectedClients, counters, logger } = deps;
  const policy = deps.policy ?? brewtelPolicy;
  const redirect = deps.redirect ?? null;
  const identities = new WeakMap<Client, Identity>();
  const endedSessions = new WeakSet<Client>();
  // The policy is pure and a client's identity never changes, so its answer for a topic can be
  // remembered: the hot path (unretained publishes) then costs one map lookup instead of parsing the
  // topic every time. Retained publishes are rare (state changes) and asked of the policy each time.
  const publishDecisions = new WeakMap<Client, Map<string, PublishVerdict>>();

  function clientVerdict(client: Client, subject: AclSubject, packet: PublishPacket): PublishVerdict {
    if (packet.retain) return policy.publishVerdict(subject, packet.topic, { retain: true, empty: packet.payload.length === 0 });
    let decisions = publishDecisions.get(client);
    if (!decisions) {
      decisions = new Map();
      publishDecisions.set(client, decisions);
    }
    let verdict = decisions.get(packet.topic);
    if (verdict === undefined) {
      verdict = policy.publishVerdict(subject, packet.topic);
      if (decisions.size >= DECISIONS_PER_CLIENT) decisions.clear();
      decisions.set(packet.topic, verdict);
    }
    return verdict;
  }

  function endSession(client: Client): void {
    if (endedSessions.has(client)) return;
    endedSessions.add(client);
    // aedes' pause stops its parser reading the socket; whatever it already read is refused below.
    const pause: unknown = Reflect.get(client, 'pause');
    if (typeof pause === 'function') Reflect.apply(pause, client, []);
    const close = (): void => client.close();
    const fallback = setTimeout(close, SESSION_FLUSH_MS);
    fallback.unref();
    // aedes writes each delivery from its own setImmediate; one queued after them runs after they
    // were written, and an empty write completes once everything before it has been flushed. So a
    // command sent just before the revocation (an erasure's wipe-local-data) still reaches the device.
    setImmediate(() => {
      if (client.closed) return clearTimeout(fallback);
      // An MQTT 5 device is told why: DISCONNECT 0x98, written after those deliveries too.
      if (client.version === 5) return disconnectClient(client, ReasonCode.ADMINISTRATIVE_ACTION, 'credentials_revoked', () => clearTimeout(fallback));
      client.conn.write(EMPTY, () => {
        clearTimeout(fallback);
        close();
      });
    });
  }

  type Done = Parameters<Hooks['authenticate']>[3];

  /** aedes sends the CONNACK for the four 3.1.1 codes' v5 equivalents; any other v5 code is ours to send. */
  function deny(client: Client, refusal: AuthRefusal, done: Done): void {
    if (client.version === 5 && refusal.reasonCode !== V5_OF_CONNACK[refusal.code]) {
      refuseConnectV5(client, refusal.reasonCode, refusal.reason, () => done(aedesRefusal(refusal.code, refusal.reason), false));
      return;
    }
    done(aedesRefusal(refusal.code, refusal.reason), false);
  }

  async function admit(client: Client, identity: Identity, done: Done): Promise<void> {
    const target = redirect ? await redirect(identity) : null;
    const { serverReference, moved = false } = typeof target === 'string' ? { serverReference: target } : (target ?? { serverReference: '' });
    if (serverReference) {
      counters.redirects++;
      logger.info({ clientId: client.id, serverReference, moved, version: client.version }, 'connection redirected to another server');
      // MQTT 5: CONNACK 0x9C (or 0x9D when moved) with the Server Reference (§4.11), which aedes sends
      // for this error. A 3.1.1 client cannot be told where to go: CONNACK 3 (server unavailable), and
      // it asks again.
      const v5 = moved ? { serverReference, reasonCode: ReasonCode.SERVER_MOVED } : { serverReference };
      done(aedesRefusal(ConnackReturnCode.SERVER_UNAVAILABLE, moved ? 'server moved' : 'use another server', client.version === 5 ? v5 : {}), false);
      return;
    }
    identities.set(client, identity);
    resumeQueuedMessages(client);
    inFlightOut.watch(client);
    logger.debug({ clientId: client.id, principal: describeIdentity(identity) }, 'client authenticated');
    done(null, true);
  }

  /**
   * A device of another plane. No secret was checked, so this is neither a failed login for the
   * throttle (a fleet behind one NAT sent to the wrong plane would lock that address out) nor a
   * successful one (it must not wipe the failures of its source). MQTT 5: CONNACK 0x9C with the home
   * plane's URL as Server Reference (v5 §4.11, §3.2.2.3.16), which aedes sends for this error and then
   * closes the connection [MQTT-3.2.2-7]; 3.1.1: CONNACK 3, then it asks the directory. Logged with
   * the region and the reference, nothing about the device's owner.
   */
  function sendHome(client: Client, home: NonNullable<AuthRefusal['misdirected']>, done: Done): void {
    counters.misdirected++;
    logger.info(
      { clientId: client.id, homeRegion: home.region, serverReference: home.serverReference, version: client.version },
      'device of another plane sent home',
    );
    done(
      aedesRefusal(ConnackReturnCode.SERVER_UNAVAILABLE, 'use another server', client.version === 5 ? { serverReference: home.serverReference } : {}),
      false,
    );
  }

  // Expected while the broker stops (the registry behind it may be gone already), so not a warning.
  const refuseWhileStopping = (client: Client, done: Done): void => {
    logger.debug({ clientId: client.id }, 'connection refused: the broker is shutting down');
    deny(client, refuse(ConnackReturnCode.SERVER_UNAVAILABLE, 'broker shutting down', ReasonCode.SERVER_SHUTTING_DOWN), done);
  };
  const stopping = deps.stoppingLogins ?? (() => false);

  function check(client: Client, username: string | undefined, password: Buffer | undefined, address: string, done: Done): void {
    if (stopping()) return refuseWhileStopping(client, done);
    const failed = (error: unknown): void => {
      counters.authFailures++;
      logger.error({ clientId: client.id, username, err: error }, 'authentication failed unexpectedly');
      deny(client, refuse(ConnackReturnCode.SERVER_UNAVAILABLE, 'authentication failed'), done);
    };
    authenticator
      .authenticate({ clientId: client.id, username, password, certificateName: certificateNameOf(client) })
      .then((outcome) => {
        if (stopping()) return refuseWhileStopping(client, done);
        if (outcome.ok) {
          throttle.succeeded(address, username ?? '');
          return admit(client, outcome.identity, done);
        }
        if (outcome.misdirected) return sendHome(client, outcome.misdirected, done);
        counters.authFailures++;
        // An unreachable or busy registry is not the client's fault.
        if (outcome.code !== ConnackReturnCode.SERVER_UNAVAILABLE) throttle.failed(address, username ?? '', Date.now());
        logger.warn({ clientId: client.id, username, code: outcome.code, reasonCode: outcome.reasonCode, reason: outcome.reason }, 'connection refused');
        deny(client, outcome, done);
      })
      .catch(failed);
  }

  const cutOffClients = new WeakSet<Client>();
  const cutOff = (client: Client, reason: LimitReason): Error => {
    counters.limitDisconnects[reason]++;
    logger.warn({ clientId: client.id, reason }, 'client disconnected: limit reached');
    return new Error(`limit reached: ${reason}`);
  };
  const denyPublish = (client: Client | null, packet: PublishPacket, reason: string, done: (error?: Error | null) => void): void => {
    counters.denials++;
    logger.warn({ clientId: client?.id ?? willClientId(packet), topic: packet.topic, retain: packet.retain, reason }, 'publish denied');
    done(new Error(`publish denied: ${reason}`));
  };

  const hooks: Hooks = {
    authenticate(client, username, password, done) {
      if (connectedClients() >= maxConnections) {
        counters.limitDisconnects.max_connections++;
        logger.warn({ clientId: client.id, reason: 'max_connections', maxConnections }, 'connection refused: limit reached');
        deny(client, refuse(ConnackReturnCode.SERVER_UNAVAILABLE, 'max connections', ReasonCode.SERVER_BUSY), done);
        return;
      }
      const address = remoteAddressOf(client);
      const decision = throttle.check(address, username ?? '', Date.now());
      switch (decision.action) {
        case 'allow':
          check(client, username, password, address, done);
          return;
        case 'delay':
          setTimeout(() => check(client, username, password, address, done), decision.delayMs);
          return;
        case 'refuse': {
          counters.authThrottled++;
          if (decision.scope === 'address') counters.authThrottledByAddress++;
          const reason = decision.scope === 'address' ? 'auth_throttled_address' : 'auth_throttled';
          logger.warn({ clientId: client.id, username, reason, until: new Date(decision.untilMs).toISOString() }, 'connection refused');
          deny(client, refuse(ConnackReturnCode.NOT_AUTHORIZED, 'too many failed attempts', ReasonCode.CONNECTION_RATE_EXCEEDED), done);
        }
      }
    },

    // A refused publish from a 3.1.1 client closes the connection (aedes' behaviour, allowed by
    // MQTT-3.3.5-2). The other allowed answer, acknowledging and dropping, would tell a QoS 1
    // publisher its message was accepted and lose it silently; a closed connection makes the fault
    // visible on the device. An MQTT 5 client is answered PUBACK 0x87 instead [MQTT-3.4.2-1] and
    // stays connected: it knows the message was refused.
    authorizePublish(client, packet, done) {
      if (client && endedSessions.has(client)) {
        // Its will too: an erased device leaves nothing retained behind.
        logger.debug({ clientId: client.id, topic: packet.topic }, 'publish of a revoked session dropped');
        done(new Error('credentials revoked'));
        return;
      }
      const subject = client ? identities.get(client) : orphanWillOwner(packet);
      const flags = { retain: packet.retain, empty: packet.payload.length === 0 };
      const verdict: PublishVerdict =
        subject === undefined ? 'deny' : client ? clientVerdict(client, subject, packet) : policy.publishVerdict(subject, packet.topic, flags);
      if (subject === undefined || verdict !== 'allow') {
        if (verdict === 'retain_refused') counters.retainRefused++;
        denyPublish(client, packet, verdict === 'retain_refused' ? 'retain_refused' : 'topic_denied', done);
        return;
      }
      const properties = checkPublishProperties(subject, packet, policy);
      if (!properties.ok && properties.kind === 'protocol_error') {
        counters.denials++;
        logger.warn(
          { clientId: client?.id ?? willClientId(packet), topic: packet.topic, reason: 'protocol_error', detail: properties.detail },
          'publish denied, client disconnected',
        );
        const error = new Error(`protocol error: ${properties.detail}`);
        if (client) disconnectClient(client, ReasonCode.PROTOCOL_ERROR, properties.detail, () => done(error));
        else done(error);
        return;
      }
      if (!properties.ok) {
        denyPublish(client, packet, properties.kind, done);
        return;
      }
      dropNonPublishProperties(packet);
      // The rate is a device's: a service account (the server's ingest and outbound connections)
      // publishes for the whole fleet at once, e.g. every device's consent after a lost session.
      if (client && subject?.kind !== 'service' && !publishRate.admit(client, Date.now())) {
        const error = cutOff(client, 'publish_rate');
        // MQTT 5: DISCONNECT 0x96, then the publish is refused; aedes' PUBACK 0x87 for it finds the
        // connection closed, so nothing follows the DISCONNECT [MQTT-3.14.4-1].
        if (client.version === 5) disconnectClient(client, ReasonCode.MESSAGE_RATE_TOO_HIGH, 'publish_rate', () => done(error));
        else done(error);
        return;
      }
      counters.messagesIn++;
      done(null);
    },

    authorizeSubscribe(client, subscription, done) {
      const identity = identities.get(client);
      if (identity && policy.maySubscribe(identity, subscription.topic)) {
        done(null, subscription);
        return;
      }
      counters.denials++;
      logger.warn({ clientId: client.id, topic: subscription.topic }, 'subscription denied');
      // A null subscription makes aedes grant 0x80 (3.1.1) or 0x87 (MQTT 5) for this filter in the SUBACK.
      done(null, null);
    },

    // Called once per delivery to a client, which makes it the cheapest place to count them. A
    // client over its in-flight cap still gets this message (a persistent session keeps it until
    // acknowledged) and is then cut off, outside aedes' delivery loop.
    authorizeForward(client, packet) {
      counters.messagesOut++;
      if (!inFlightOut.forwarded(client, packet) && !cutOffClients.has(client)) {
        cutOffClients.add(client);
        const error = cutOff(client, 'max_in_flight_out');
        setImmediate(() => (client.version === 5 ? disconnectClient(client, ReasonCode.QUOTA_EXCEEDED, 'max_in_flight_out') : client.emit('error', error)));
      }
      return packet;
    },
  };
  return { hooks, endSession, isDevice: (client) => identities.get(client)?.kind === 'device' };
}

/** The CN of a client certificate the TLS listener verified; nothing for any other transport. */
function certificateNameOf(client: Client): string | undefined {
  const conn = (client as Client & { conn?: unknown }).conn;
  if (!(conn instanceof TLSSocket) || !conn.authorized) return undefined;
  const cn = conn.getPeerCertificate().subject?.CN;
  // A certificate may carry several CNs; one that is ambiguous names no device.
  return typeof cn === 'string' ? cn : undefined;
}

/** TCP and TLS hand aedes the socket; WebSocket hands it a stream and the upgrade request. */
function remoteAddressOf(client: Client): string {
  const withTransport = client as Client & { conn?: { remoteAddress?: string }; req?: { socket?: { remoteAddress?: string } } };
  return withTransport.conn?.remoteAddress ?? withTransport.req?.socket?.remoteAddress ?? 'unknown';
}

/**
 * aedes publishes a will with no client when its owner's broker died; the will then carries the
 * owner's client id, which for a device is its device id, so the device rules still apply to it.
 */
function orphanWillOwner(packet: PublishPacket): AclSubject | undefined {
  const deviceId = deviceIdSchema.safeParse(willClientId(packet));
  return deviceId.success ? { kind: 'device', deviceId: deviceId.data } : undefined;
}

const willClientId = (packet: PublishPacket): string | undefined => (packet as PublishPacket & { clientId?: string }).clientId;
