import { Aedes } from 'aedes';
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
import { brokerConfigSchema, type BrokerConfig, type BrokerConfigInput } from './config.ts';
import { createDeviceVerifier } from './device-verifier.ts';
import { listenTcp, listenTls, listenWebSocket, type Listener } from './listeners.ts';
import { createBrokerMetrics } from './metrics.ts';
import { listenMetrics } from './metrics-listener.ts';
import { createInFlightOut } from './in-flight-out.ts';
import { capInFlightInBytes, InFlightInBytesExceeded } from './in-flight-in-bytes.ts';
import { listenForRevocations, type RevocationCounters } from './revocation-listener.ts';
import { createRevocations } from './revocations.ts';
import { createPacketSizeGuard } from './packet-size-guard.ts';
import { flagRedeliveries } from './redelivery-flag.ts';
import { coalesceWrites } from './write-coalescing.ts';

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
  close(): Promise<void>;
}

/**
 * Starts the embedded aedes broker: TCP, WebSocket and TLS listeners (each one optional), device and
 * service account authentication, deny-by-default topic rights, limits and a packet size cap. Rejects with a
 * ListenError (broker/listeners.ts) naming the listener and port when one cannot bind; nothing is
 * left running then.
 */
export async function startBroker(input: BrokerConfigInput, logger: Logger): Promise<RunningBroker> {
  const config = brokerConfigSchema.parse(input);
  const counters: HookCounters & RevocationCounters & { oversizePackets: number } = {
    authFailures: 0,
    authThrottled: 0,
    authThrottledByAddress: 0,
    denials: 0,
    retainRefused: 0,
    limitDisconnects: { publish_rate: 0, max_in_flight_in: 0, max_in_flight_in_bytes: 0, max_in_flight_out: 0, max_connections: 0 },
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
  const verifier = createDeviceVerifier(config, revocations, logger);
  // aedes is created after the hooks that need its client count; the closure reads it late.
  let aedes: Aedes | null = null;
  const inFlightOut = createInFlightOut(config.limits.maxInFlightOut);
  const { hooks, endSession, isDevice } = createAedesHooks({
    inFlightOut,
    authenticator: createAuthenticator(config.serviceAccounts, verifier),
    throttle: createLoginThrottle(config.authThrottle),
    publishRate: createPublishRateLimit(config.limits),
    maxConnections: config.limits.maxConnections,
    connectedClients: () => aedes?.connectedClients ?? 0,
    counters,
    logger,
  });
  const cluster = config.cluster ? createClusterBackends(config.cluster) : null;
  const broker = await Aedes.createBroker({
    ...hooks,
    // aedes drops a client holding more unreleased QoS 2 messages than this (its error names the limit).
    maxInflightInbound: config.limits.maxInFlightIn,
    ...(cluster ? { mq: cluster.mq, persistence: cluster.persistence } : {}),
  });
  aedes = broker;
  flagRedeliveries(Reflect.get(broker, 'persistence'));
  capInFlightInBytes(Reflect.get(broker, 'persistence'), config.limits.maxInFlightInBytes);
  // With every store: a PUBACK then always means the message is in each subscriber's queue.
  publishBeforeAck(broker);
  deliverEveryMatch(broker);
  await listenForRevocations(broker, { revocations, verifier, endSession, isDevice, counters, logger });
  const stats = (): BrokerStats => {
    const checks = verifier.stats();
    return {
      connections: broker.connectedClients,
      ...counters,
      limitDisconnects: { ...counters.limitDisconnects },
      authNegativeCacheHits: checks.negativeHits,
      authChecksBusy: checks.busy,
      authChecksActive: checks.active,
      authChecksQueued: checks.queued,
    };
  };
  const registry = createBrokerMetrics(stats);

  broker.on('ack', (_packet, client) => inFlightOut.acked(client));
  broker.on('clientError', (client, error) => {
    if (error.message.startsWith('maxInflightInbound exceeded')) {
      counters.limitDisconnects.max_in_flight_in++;
      logger.warn({ clientId: client.id, reason: 'max_in_flight_in' }, 'client disconnected: limit reached');
      return;
    }
    if (error instanceof InFlightInBytesExceeded) {
      counters.limitDisconnects.max_in_flight_in_bytes++;
      logger.warn({ clientId: client.id, reason: 'max_in_flight_in_bytes', maxBytes: error.maxBytes }, 'client disconnected: limit reached');
      return;
    }
    logger.debug({ clientId: client.id, err: error.message }, 'client dropped');
  });
  broker.on('connectionError', (_client, error) => logger.debug({ err: error.message }, 'connection dropped before CONNECT'));
  // aedes' typings omit its 'error' event (persistence failures); unhandled, it would end the process.
  (broker as EventEmitter).on('error', (error: Error) => logger.error({ err: error }, 'broker error'));

  const accept = (stream: Duplex, request?: IncomingMessage): void => {
    if (stream instanceof Socket) coalesceWrites(stream);
    broker.handle(stream, request);
    // Added after aedes' 'readable' listener, so it observes each chunk aedes reads without taking
    // over the flow; it runs before the parser sees the chunk.
    const withinLimit = createPacketSizeGuard(config.maxPacketBytes);
    stream.on('data', (chunk: Buffer) => {
      if (withinLimit(chunk)) return;
      counters.oversizePackets++;
      logger.warn({ clientId: (stream as Duplex & { client?: { id: string | null } }).client?.id ?? null, maxPacketBytes: config.maxPacketBytes }, 'oversize packet, connection dropped');
      stream.destroy();
    });
  };

  const listeners: Listener[] = [];
  const close = async (): Promise<void> => {
    verifier.close();
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
    logger.info({ tcpPort: tcp?.port ?? null, wsPort: ws?.port ?? null, tlsPort: tls?.port ?? null, metricsPort: metrics?.port ?? null, host: config.host }, 'broker listening');
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
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
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
