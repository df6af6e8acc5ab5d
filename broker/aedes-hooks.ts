import type { AedesOptions, AuthenticateError, Client, PublishPacket } from 'aedes';
import { TLSSocket } from 'node:tls';
import type { Logger } from 'pino';
import { deviceIdSchema } from '../schema/ids.ts';
import { publishVerdict, maySubscribe, type AclSubject, type PublishVerdict } from './acl-policy.ts';
import type { LoginThrottle } from './auth-throttle.ts';
import { CONNACK, type Authenticator } from './authenticate.ts';
import type { LimitReason, PublishRateLimit } from './client-limits.ts';
import { describeIdentity, type Identity } from './identity.ts';
import type { InFlightOut } from './in-flight-out.ts';

/**
 * Adapts the authenticator, the throttle, the limits and the pure topic policy to aedes 1.x's
 * callback hooks. aedes ignores a promise returned by a hook, so async work is bridged to the
 * callback explicitly and every path calls it exactly once. Log lines name the client and topic,
 * never a password or payload.
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

const refuse = (code: number, reason: string): AuthenticateError => Object.assign(new Error(reason), { returnCode: code }) as AuthenticateError;

// Devices publish to a handful of topics, over and over; past this many a client's memo starts over.
const DECISIONS_PER_CLIENT = 64;
/** Longest a revoked session's socket stays open for what was already written to it. */
const SESSION_FLUSH_MS = 1_000;
const EMPTY = Buffer.alloc(0);

export function createAedesHooks({ authenticator, throttle, publishRate, inFlightOut, maxConnections, connectedClients, counters, logger }: HookDeps): AedesHooks {
  const identities = new WeakMap<Client, Identity>();
  const endedSessions = new WeakSet<Client>();
  // The policy is pure and a client's identity never changes, so its answer for a topic can be
  // remembered: the hot path (unretained publishes) then costs one map lookup instead of parsing the
  // topic every time. Retained publishes are rare (state changes) and asked of the policy each time.
  const publishDecisions = new WeakMap<Client, Map<string, PublishVerdict>>();

  function clientVerdict(client: Client, subject: AclSubject, packet: PublishPacket): PublishVerdict {
    if (packet.retain) return publishVerdict(subject, packet.topic, { retain: true, empty: packet.payload.length === 0 });
    let decisions = publishDecisions.get(client);
    if (!decisions) {
      decisions = new Map();
      publishDecisions.set(client, decisions);
    }
    let verdict = decisions.get(packet.topic);
    if (verdict === undefined) {
      verdict = publishVerdict(subject, packet.topic);
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
      client.conn.write(EMPTY, () => {
        clearTimeout(fallback);
        close();
      });
    });
  }

  function check(client: Client, username: string | undefined, password: Buffer | undefined, address: string, done: Parameters<Hooks['authenticate']>[3]): void {
    authenticator.authenticate({ clientId: client.id, username, password, certificateName: certificateNameOf(client) }).then(
      (outcome) => {
        if (outcome.ok) {
          throttle.succeeded(address, username ?? '');
          identities.set(client, outcome.identity);
          inFlightOut.watch(client);
          logger.debug({ clientId: client.id, principal: describeIdentity(outcome.identity) }, 'client authenticated');
          done(null, true);
          return;
        }
        counters.authFailures++;
        // An unreachable registry is not the client's fault.
        if (outcome.code !== CONNACK.serverUnavailable) throttle.failed(address, username ?? '', Date.now());
        logger.warn({ clientId: client.id, username, code: outcome.code, reason: outcome.reason }, 'connection refused');
        done(refuse(outcome.code, outcome.reason), false);
      },
      (error: unknown) => {
        counters.authFailures++;
        logger.error({ clientId: client.id, username, err: error }, 'authentication failed unexpectedly');
        done(refuse(CONNACK.serverUnavailable, 'authentication failed'), false);
      },
    );
  }

  const cutOffClients = new WeakSet<Client>();
  const cutOff = (client: Client, reason: LimitReason): Error => {
    counters.limitDisconnects[reason]++;
    logger.warn({ clientId: client.id, reason }, 'client disconnected: limit reached');
    return new Error(`limit reached: ${reason}`);
  };

  const hooks: Hooks = {
    authenticate(client, username, password, done) {
      if (connectedClients() >= maxConnections) {
        counters.limitDisconnects.max_connections++;
        logger.warn({ clientId: client.id, reason: 'max_connections', maxConnections }, 'connection refused: limit reached');
        done(refuse(CONNACK.serverUnavailable, 'max connections'), false);
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
          done(refuse(CONNACK.notAuthorized, 'too many failed attempts'), false);
        }
      }
    },

    // A refused publish closes the connection (aedes' behaviour, allowed by MQTT-3.3.5-2). The other
    // allowed answer, acknowledging and dropping, would tell a QoS 1 publisher its message was
    // accepted and lose it silently; a closed connection makes the fault visible on the device.
    authorizePublish(client, packet, done) {
      if (client && endedSessions.has(client)) {
        // Its will too: an erased device leaves nothing retained behind.
        logger.debug({ clientId: client.id, topic: packet.topic }, 'publish of a revoked session dropped');
        done(new Error('credentials revoked'));
        return;
      }
      const subject = client ? identities.get(client) : orphanWillOwner(packet);
      const flags = { retain: packet.retain, empty: packet.payload.length === 0 };
      const verdict: PublishVerdict = subject === undefined ? 'deny' : client ? clientVerdict(client, subject, packet) : publishVerdict(subject, packet.topic, flags);
      if (verdict !== 'allow') {
        counters.denials++;
        if (verdict === 'retain_refused') counters.retainRefused++;
        const reason = verdict === 'retain_refused' ? 'retain_refused' : 'topic_denied';
        logger.warn({ clientId: client?.id ?? willClientId(packet), topic: packet.topic, retain: packet.retain, reason }, 'publish denied');
        done(new Error('publish denied'));
        return;
      }
      if (client && !publishRate.admit(client, Date.now())) {
        done(cutOff(client, 'publish_rate'));
        return;
      }
      counters.messagesIn++;
      done(null);
    },

    authorizeSubscribe(client, subscription, done) {
      const identity = identities.get(client);
      if (identity && maySubscribe(identity, subscription.topic)) {
        done(null, subscription);
        return;
      }
      counters.denials++;
      logger.warn({ clientId: client.id, topic: subscription.topic }, 'subscription denied');
      // A null subscription makes aedes grant 0x80 (failure) for this filter in the SUBACK.
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
        setImmediate(() => client.emit('error', error));
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
