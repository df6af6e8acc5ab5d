import { Aedes, type Client } from 'aedes';
import aedesPersistence from 'aedes-persistence';
import type { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import { readFile } from 'node:fs/promises';
import { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { IncomingMessage } from 'node:http';
import { createAedesHooks, type HookCounters } from './aedes-hooks.ts';
import { publishBeforeAck } from './publish-before-ack.ts';
import { deliverEveryMatch } from './delivery-dedupe.ts';
import { createLoginThrottle } from './auth-throttle.ts';
import { createAuthenticator } from './authenticate.ts';
import type { BrokerStats } from './broker-stats.ts';
import { createPublishRateLimit } from './client-limits.ts';
import { createClusterBackends } from './cluster.ts';
import { clusterEventLog, type ClusterCounters } from './cluster-event-log.ts';
import { sessionsAcrossNodes } from './cluster-sessions.ts';
import { brokerConfigSchema, type BrokerConfig, type BrokerConfigInput } from './config.ts';
import { createDeviceVerifier } from './device-verifier.ts';
import { createHomePlanes } from './home-plane.ts';
import { listenTcp, listenTls, listenWebSocket, type Listener } from './listeners.ts';
import { createBrokerMetrics } from './metrics.ts';
import { listenMetrics } from './metrics-listener.ts';
import { createInFlightOut } from './in-flight-out.ts';
import { capInFlightIn, InFlightInExceeded } from './in-flight-in.ts';
import { cleanIncomingWithSession } from './incoming-session-cleanup.ts';
import { skipClosedLogins } from './closed-login-guard.ts';
import { lingerWhenRefused } from './refusal-linger.ts';
import { closeBeforeTakeover } from './close-before-takeover.ts';
import { disconnectOnKeepaliveTimeout } from './keepalive-disconnect.ts';
import { PERMISSIVE_BANNER, permissiveAuthenticator, permissivePolicy, requireLoopback } from './permissive-test-mode.ts';
import { protectBrokerMaps, protectClientMaps } from './prototype-safe-maps.ts';
import { listenForRevocations, type RevocationCounters } from './revocation-listener.ts';
import { createRevocations } from './revocations.ts';
import { PacketSizeGuard } from './packet-size-guard.ts';
import { indexRetainedMessages } from './retained-index.ts';
import { indexOutgoingQueues } from './outgoing-index.ts';
import { steadyEmitterQueue } from './emitter-queue.ts';
import { flagRedeliveries } from './redelivery-flag.ts';
import { makeDisconnectFinal } from './server-disconnect.ts';
import { coalesceWrites } from './write-coalescing.ts';
import { releaseConnectPackets } from './connect-packet-release.ts';
import { limitForwardsToClientMaximum } from './forward-size-limit.ts';

export type { BrokerStats } from './broker-stats.ts';

/** Every listener's port and URL is null while config switches that listener off. */
export interface RunningBroker {
  tcpPort: number | null;
  wsPort: number | null;
  mqttUrl: string | null;
  wsUrl: string | null;
  tlsPort: number | null;
  mqttsUrl: string | null;
  /** Where Prometheus text is served (GET /metrics), or null when config.metricsPort is null. */
  metricsUrl: string | null;
  stats(): BrokerStats;
  /** The same numbers in Prometheus text format, without the HTTP listener. */
  metrics(): Promise<string>;
  /**
   * The first step of stopping: every CONNECT from now on is refused with 0x8B (server shutting
   * down), those still waiting on the registry too, while connected clients stay. A stack stops
   * logins before the server behind the registry goes, then closes the broker after it.
   */
  stopLogins(): void;
  close(): Promise<void>;
}

/** MQTT 5 Receive Maximum is a two-byte integer [MQTT-3.2.2.3.3]. */
/**
 * aedes-persistence is CommonJS whose module.exports is the factory; its typings say `export default`,
 * which NodeNext reads as a property of the module object that does not exist at run time.
 */
const memoryPersistence = aedesPersistence as unknown as typeof aedesPersistence.default;

const RECEIVE_MAXIMUM_CEILING = 65_535;

/**
 * Starts the embedded aedes broker (2.0, MQTT 3.1.1 and 5): TCP, WebSocket and TLS listeners (each
 * one optional), device and service account authentication, deny-by-default topic rights, limits
 * and a packet size cap. Rejects with a ListenError (broker/listeners.ts) naming the listener and
 * port when one cannot bind; nothing is left running then.
 */
export async function startBroker(input: BrokerConfigInput, logger: Logger): Promise<RunningBroker> {
  const config = brokerConfigSchema.parse(input);
  if (config.unsafePermissiveTestMode) {
    requireLoopback(config.host);
    logger.warn({ host: config.host }, PERMISSIVE_BANNER);
  }
  const counters: HookCounters & RevocationCounters & { oversizePackets: number; forwardsTooLarge: number } & ClusterCounters = {
    authFailures: 0,
    authThrottled: 0,
    authThrottledByAddress: 0,
    denials: 0,
    retainRefused: 0,
    limitDisconnects: { publish_rate: 0, max_in_flight_in: 0, max_in_flight_in_bytes: 0, max_in_flight_out: 0, max_connections: 0 },
    redirects: 0,
    misdirected: 0,
    forwardsTooLarge: 0,
    clusterErrors: 0,
    clusterSubscriberDrops: 0,
    clusterMessagesLost: 0,
    messagesIn: 0,
    messagesOut: 0,
    oversizePackets: 0,
    revocationNotices: 0,
    revocationNoticesMalformed: 0,
    revokedSessions: 0,
  };
  // An erased device never returns; after ten minutes (far beyond any login check still under way,
  // and any server process's peer refresh) the registry's own refusal is enough.
  const revocations = createRevocations({ horizonMs: 10 * 60_000, maxEntries: 100_000 });
  const verifier =
    config.deviceAuth === null ? null : createDeviceVerifier({ deviceAuth: config.deviceAuth, authChecks: config.authChecks }, revocations, logger);
  // Asked only after this plane's registry refused a device, so a directory that is down costs the
  // devices at home here nothing.
  const homes = config.plane === null || verifier === null ? null : createHomePlanes(config.plane.directory, logger);
  const plane = config.plane !== null && homes !== null ? { region: config.plane.region, homes } : null;
  // aedes is created after the hooks that need its client count; the closure reads it late.
  let aedes: Aedes | null = null;
  const inFlightOut = createInFlightOut(config.limits.maxInFlightOut);
  const permissive = config.unsafePermissiveTestMode;
  let loginsStopped = false;
  const { hooks, endSession, isDevice } = createAedesHooks({
    inFlightOut,
    authenticator: permissive || verifier === null ? permissiveAuthenticator : createAuthenticator(config.serviceAccounts, verifier, plane),
    policy: permissive ? permissivePolicy : undefined,
    redirect: config.redirect,
    throttle: createLoginThrottle(config.authThrottle),
    publishRate: createPublishRateLimit(config.limits),
    maxConnections: config.limits.maxConnections,
    connectedClients: () => aedes?.connectedClients ?? 0,
    stoppingLogins: () => loginsStopped,
    counters,
    logger,
  });
  const cluster = config.cluster ? createClusterBackends(config.cluster, clusterEventLog(counters, logger)) : null;
  const broker = await Aedes.createBroker({
    ...hooks,
    // MQTT 5 CONNACK: what we enforce, announced [MQTT-3.2.2-15]; aedes also disconnects a v5
    // client above maximumPacketSize with 0x95 once the fixed header is read.
    maximumPacketSize: config.maxPacketBytes,
    receiveMaximum: Math.min(config.limits.maxInFlightIn, RECEIVE_MAXIMUM_CEILING),
    topicAliasMaximum: config.limits.topicAliasMaximum,
    sessionExpiryIntervalLimit: config.limits.maxSessionExpirySeconds,
    // The memory store is ours, not the one aedes would pick: aedes 2.0.0-beta.1 asks for
    // aedes-persistence 10, which lacks cleanIncoming; an override fixes that inside this repository
    // only, and a project that installs brewtel would get 10 again.
    ...(cluster ? { mq: sessionsAcrossNodes(cluster.mq, () => aedes), persistence: cluster.persistence } : { persistence: memoryPersistence() }),
  });
  aedes = broker;
  protectBrokerMaps(broker);
  // Before any client: every retained message goes through the index from the first one.
  indexRetainedMessages(Reflect.get(broker, 'persistence'));
  // Before flagRedeliveries, which reads these queues (the memory store's) without a stream.
  const outgoingSnapshot = indexOutgoingQueues(Reflect.get(broker, 'persistence'));
  steadyEmitterQueue(Reflect.get(broker, 'mq'));
  flagRedeliveries(Reflect.get(broker, 'persistence'), outgoingSnapshot);
  capInFlightIn(Reflect.get(broker, 'persistence'), { maxPackets: config.limits.maxInFlightIn, maxBytes: config.limits.maxInFlightInBytes });
  cleanIncomingWithSession(broker);
  // Before any client: no connection's parser keeps its CONNECT (and password) once handled.
  releaseConnectPackets(broker);
  skipClosedLogins(broker, (client) => logger.debug({ clientId: client.id }, 'login not registered: its connection closed while it was set up'));
  closeBeforeTakeover(broker);
  disconnectOnKeepaliveTimeout(broker);
  limitForwardsToClientMaximum(broker, (client, packet) => {
    counters.forwardsTooLarge++;
    logger.info({ clientId: client.id, topic: packet.topic, maximumPacketSize: client.maximumPacketSize }, 'delivery larger than the client takes, discarded');
  });
  // With every store: a PUBACK then always means the message is in each subscriber's queue.
  publishBeforeAck(broker);
  deliverEveryMatch(broker);
  await listenForRevocations(broker, { revocations, verifier, endSession, isDevice, counters, logger });
  const stats = (): BrokerStats => {
    const checks = verifier?.stats() ?? { negativeHits: 0, busy: 0, active: 0, queued: 0, requests: 0, requestItems: 0 };
    return {
      connections: broker.connectedClients,
      connectionsByProtocol: connectionsByProtocol(broker),
      ...counters,
      ...(homes?.stats() ?? { directoryLookups: 0, directoryUnavailable: 0, directoryCacheHits: 0 }),
      limitDisconnects: { ...counters.limitDisconnects },
      authNegativeCacheHits: checks.negativeHits,
      authChecksBusy: checks.busy,
      authRequests: checks.requests,
      authRequestItems: checks.requestItems,
      authChecksActive: checks.active,
      authChecksQueued: checks.queued,
    };
  };
  const registry = createBrokerMetrics(stats);

  broker.on('ack', (_packet, client) => inFlightOut.acked(client));
  broker.on('clientError', (client, error) => {
    if (error instanceof InFlightInExceeded) {
      const reason = error.limit === 'packets' ? 'max_in_flight_in' : 'max_in_flight_in_bytes';
      counters.limitDisconnects[reason]++;
      logger.warn({ clientId: client.id, reason, max: error.max }, 'client disconnected: limit reached');
      return;
    }
    logger.debug({ clientId: client.id, err: error.message }, 'client dropped');
  });
  broker.on('connectionError', (_client, error) => logger.debug({ err: error.message }, 'connection dropped before CONNECT'));
  // aedes' typings omit its 'error' event (persistence failures); unhandled, it would end the process.
  (broker as EventEmitter).on('error', (error: Error) => logger.error({ err: error }, 'broker error'));

  // Whatever runs per connection is shared by all of them (functions made once here, state in
  // objects without closures), so a connection costs only its own state: with 10,000 devices every
  // closure per connection is half a megabyte.
  const clientOf = (stream: Duplex): Client => Reflect.get(stream, 'client') as Client;
  // aedes sets `conn.client` on the stream it is handed.
  const lingerIfRefused = lingerWhenRefused((socket) => Reflect.get(clientOf(socket), '_authorized') === true);
  const sizeGuards = new WeakMap<Duplex, PacketSizeGuard>();
  function guardPacketSize(this: Duplex, chunk: Buffer): void {
    if (sizeGuards.get(this)?.withinLimit(chunk) !== false) return;
    const client = clientOf(this);
    counters.oversizePackets++;
    logger.warn({ clientId: client.id, maxPacketBytes: config.maxPacketBytes }, 'oversize packet, connection dropped');
    // aedes' own rejection: DISCONNECT 0x95 to a connected MQTT 5 client, else the socket is
    // destroyed; either way it reads nothing more from the socket.
    const reject: unknown = Reflect.get(client, 'rejectPacketTooLarge');
    if (typeof reject === 'function') Reflect.apply(reject, client, []);
    else this.destroy();
  }
  const accept = (stream: Duplex, request?: IncomingMessage): void => {
    if (stream instanceof Socket) coalesceWrites(stream);
    const client = broker.handle(stream, request);
    if (stream instanceof Socket) lingerIfRefused(stream);
    protectClientMaps(client);
    makeDisconnectFinal(client);
    // Added after aedes' 'readable' listener, so it observes each chunk aedes reads without taking
    // over the flow; it runs before the parser sees the chunk.
    sizeGuards.set(stream, new PacketSizeGuard(config.maxPacketBytes));
    stream.on('data', guardPacketSize);
  };

  const listeners: Listener[] = [];
  const stopLogins = (): void => {
    loginsStopped = true;
    verifier?.close();
    homes?.close();
  };
  const close = async (): Promise<void> => {
    stopLogins();
    const closing = listeners.map((l) => l.close());
    await new Promise<void>((resolve) => broker.close(() => resolve()));
    await cluster?.close();
    await Promise.all(closing);
  };

  try {
    const tcp = config.tcpPort === null ? null : await listenTcp(config.host, config.tcpPort, accept);
    if (tcp) listeners.push(tcp);
    // ws buffers a whole message before handing it over; a message may hold several MQTT packets,
    // so its bound is looser than the per-packet cap the guard enforces.
    const ws = config.wsPort === null ? null : await listenWebSocket(config.host, config.wsPort, 4 * config.maxPacketBytes, accept);
    if (ws) listeners.push(ws);
    const tls = config.tls === null ? null : await listenTls(config.host, config.tls.port, await readTlsFiles(config.tls), accept);
    if (tls) listeners.push(tls);
    const metrics = config.metricsPort === null ? null : await listenMetrics(config.host, config.metricsPort, registry);
    if (metrics) listeners.push(metrics);

    const host = config.host.includes(':') ? `[${config.host}]` : config.host;
    logger.info(
      { tcpPort: tcp?.port ?? null, wsPort: ws?.port ?? null, tlsPort: tls?.port ?? null, metricsPort: metrics?.port ?? null, host: config.host },
      'broker listening',
    );
    return {
      tcpPort: tcp?.port ?? null,
      wsPort: ws?.port ?? null,
      mqttUrl: tcp ? `mqtt://${host}:${tcp.port}` : null,
      wsUrl: ws ? `ws://${host}:${ws.port}/mqtt` : null,
      tlsPort: tls?.port ?? null,
      mqttsUrl: tls ? `mqtts://${host}:${tls.port}` : null,
      metricsUrl: metrics ? `http://${host}:${metrics.port}/metrics` : null,
      stats,
      metrics: () => registry.metrics(),
      stopLogins,
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}

/** Counted when asked (a metrics scrape, a stats call), not kept up to date on every CONNECT. */
function connectionsByProtocol(broker: Aedes): BrokerStats['connectionsByProtocol'] {
  const counts = { '3.1.1': 0, '5': 0 };
  const clients = Reflect.get(broker, 'clients') as Record<string, { version?: number; connected?: boolean }>;
  for (const client of Object.values(clients)) {
    if (client.connected !== true) continue;
    if (client.version === 5) counts['5']++;
    else counts['3.1.1']++;
  }
  return counts;
}

/** A broker whose TCP listener is on, for callers that connect over plain TCP themselves. */
export type TcpBroker = RunningBroker & { tcpPort: number; mqttUrl: string };

export function requireTcp(broker: RunningBroker): TcpBroker {
  const { tcpPort, mqttUrl } = broker;
  if (tcpPort === null || mqttUrl === null) throw new Error('the broker runs without its TCP listener (tcpPort is null)');
  return { ...broker, tcpPort, mqttUrl };
}

async function readTlsFiles(tls: NonNullable<BrokerConfig['tls']>): Promise<{ cert: Buffer; key: Buffer; ca?: Buffer }> {
  const [cert, key, ca] = await Promise.all([readFile(tls.certFile), readFile(tls.keyFile), tls.caFile === null ? undefined : readFile(tls.caFile)]);
  return ca === undefined ? { cert, key } : { cert, key, ca };
}
