import { Aedes } from 'aedes';
import type { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import type { Duplex } from 'node:stream';
import type { IncomingMessage } from 'node:http';
import { createAedesHooks, type HookCounters } from './aedes-hooks.ts';
import { createAuthenticator } from './authenticate.ts';
import { brokerConfigSchema, type BrokerConfigInput } from './config.ts';
import { createDeviceVerifier } from './device-verifier.ts';
import { listenTcp, listenWebSocket, type Listener } from './listeners.ts';
import { createPacketSizeGuard } from './packet-size-guard.ts';

export interface BrokerStats {
  /** Clients connected and authenticated right now. */
  connections: number;
  /** PUBLISH packets accepted from clients, wills included. */
  messagesIn: number;
  /** Deliveries to subscribers (one message to three subscribers counts three). */
  messagesOut: number;
  authFailures: number;
  /** Refused publishes and subscriptions. */
  denials: number;
  /** Connections dropped for announcing a packet larger than maxPacketBytes. */
  oversizePackets: number;
}

export interface RunningBroker {
  tcpPort: number;
  wsPort: number | null;
  mqttUrl: string;
  wsUrl: string | null;
  stats(): BrokerStats;
  close(): Promise<void>;
}

/**
 * Starts the embedded aedes broker: TCP and (optionally) WebSocket listeners, device and service
 * account authentication, deny-by-default topic rights and a packet size cap. Rejects with a
 * ListenError (broker/listeners.ts) naming the listener and port when one cannot bind; nothing is
 * left running then.
 */
export async function startBroker(input: BrokerConfigInput, logger: Logger): Promise<RunningBroker> {
  const config = brokerConfigSchema.parse(input);
  const counters: HookCounters & { messagesIn: number; oversizePackets: number } = {
    authFailures: 0,
    denials: 0,
    messagesIn: 0,
    messagesOut: 0,
    oversizePackets: 0,
  };
  const verifier = createDeviceVerifier(config.deviceAuth, logger);
  const hooks = createAedesHooks(createAuthenticator(config.serviceAccounts, verifier), counters, logger);
  const aedes = await Aedes.createBroker({ ...hooks });

  aedes.on('publish', (_packet, client) => {
    if (client) counters.messagesIn++;
  });
  aedes.on('clientError', (client, error) => logger.debug({ clientId: client.id, err: error.message }, 'client dropped'));
  aedes.on('connectionError', (_client, error) => logger.debug({ err: error.message }, 'connection dropped before CONNECT'));
  // aedes' typings omit its 'error' event (persistence failures); unhandled, it would end the process.
  (aedes as EventEmitter).on('error', (error: Error) => logger.error({ err: error }, 'broker error'));

  const accept = (stream: Duplex, request?: IncomingMessage): void => {
    aedes.handle(stream, request);
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
    await new Promise<void>((resolve) => aedes.close(() => resolve()));
    await Promise.all(closing);
  };

  try {
    const tcp = await listenTcp(config.host, config.tcpPort, accept);
    listeners.push(tcp);
    // ws buffers a whole message before handing it over; a message may hold several MQTT packets,
    // so its bound is looser than the per-packet cap the guard enforces.
    const ws = config.wsPort === null ? null : await listenWebSocket(config.host, config.wsPort, 4 * config.maxPacketBytes, accept);
    if (ws) listeners.push(ws);

    const host = config.host.includes(':') ? `[${config.host}]` : config.host;
    logger.info({ tcpPort: tcp.port, wsPort: ws?.port ?? null, host: config.host }, 'broker listening');
    return {
      tcpPort: tcp.port,
      wsPort: ws?.port ?? null,
      mqttUrl: `mqtt://${host}:${tcp.port}`,
      wsUrl: ws ? `ws://${host}:${ws.port}/mqtt` : null,
      stats: () => ({ connections: aedes.connectedClients, ...counters }),
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}
