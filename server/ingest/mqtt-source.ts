import type { Logger } from 'pino';
import { MqttClient } from '../../mqtt-wire/client.ts';
import type { IncomingPublish } from '../../mqtt-wire/packets.ts';
import { topics } from '../../schema/topics.ts';
import type { MqttConfig } from '../config.ts';
import type { IngestMessage } from './message.ts';
import { IngestAbortedError } from './retry.ts';

export interface MessageHandlers {
  /** Resolves when the message may be acknowledged; a rejection leaves it unacknowledged at the broker. */
  event(message: IngestMessage): Promise<unknown>;
  state(message: IngestMessage): void;
  /** The broker had no session of ours: it is new or forgot its state, retained messages included. */
  sessionLost(): void;
}

export interface MqttSource {
  connect(): void;
  /** Resolves once the subscriptions are granted the first time. */
  whenReady(): Promise<void>;
  connected(): boolean;
  /** Drops the connection and reconnects at once: the broker then redelivers every unacknowledged message. */
  reconnect(): void;
  close(): Promise<void>;
}

const CONNECT_TIMEOUT_MS = 10_000;

/** The event filter, plain or through a shared-subscription group. */
export function eventFilter(shareGroup: string | undefined): string {
  return shareGroup ? `$share/${shareGroup}/${topics.filters.allEvents}` : topics.filters.allEvents;
}

/**
 * The MQTT side of ingest: a persistent session (fixed client id, clean: false) with QoS 1
 * subscriptions, so messages published while the server is down wait at the broker, on mqtt-wire's
 * client in manual-ack mode (MQTT 5 unless `protocolVersion` says 4, i.e. 3.1.1).
 *
 * Why manual acks: every PUBLISH goes to ingest at once, many are in flight (they meet in the
 * per-region batches), and each PUBACK is written when its own row committed or its refusal was
 * recorded, so acknowledgements may leave in another order than the PUBLISHes came. Brokers accept
 * that (aedes and Mosquitto match PUBACKs by packet id); 3.1.1 asks clients for order
 * [MQTT-4.6.0-2], but keeping it would let one slow region hold back every other region's
 * acknowledgements. (mqtt.js hands messages over one at a time and lets one per commit through.)
 */
export function createMqttSource(config: MqttConfig, handlers: MessageHandlers, logger: Logger): MqttSource {
  let stopping = false;
  let inFlight = 0;
  let wasConnected = false;
  let markReady: () => void = () => undefined;
  const ready = new Promise<void>((resolve) => {
    markReady = resolve;
  });

  const client: MqttClient = new MqttClient(
    {
      url: config.url,
      protocolVersion: config.protocolVersion,
      clientId: config.clientId,
      username: config.username,
      password: config.password,
      clean: false,
      keepaliveS: config.keepaliveSeconds,
      connectTimeoutMs: CONNECT_TIMEOUT_MS,
      manualAck: true,
      reconnect: { initialMs: config.reconnectInitialMs, maxMs: config.reconnectMaxMs },
    },
    {
      connect(connack) {
        wasConnected = true;
        logger.info({ sessionPresent: connack.sessionPresent }, 'ingest connected to broker');
        client.subscribe([eventFilter(config.shareGroup), topics.filters.allStates], (error) => {
          if (error) {
            if (error.code !== 'ECONNRESET') logger.error({ code: error.code }, 'broker refused ingest subscriptions');
            return;
          }
          markReady();
          if (!connack.sessionPresent) handlers.sessionLost();
        });
      },
      close() {
        if (wasConnected && !stopping) logger.warn('ingest disconnected from broker');
        wasConnected = false;
      },
      error(err) {
        if (typeof err.code === 'number') logger.error({ returnCode: err.code }, 'broker refused the ingest connection');
        else logger.warn({ err: err.message, code: err.code }, 'ingest mqtt error');
      },
      message: onPublish,
      disconnect(packet) {
        logger.warn({ reasonCode: packet.reasonCode }, 'broker disconnected ingest');
      },
    },
  );

  function onPublish(packet: IncomingPublish): void {
    const message: IngestMessage = { topic: packet.topic, payload: packet.payload, receivedAt: new Date() };
    if (packet.topic.endsWith('/state')) {
      handlers.state(message);
      client.acknowledge(packet);
      return;
    }
    if (++inFlight >= config.maxInFlight) client.pause();
    // One reaction per message, not a then/finally chain: this runs for every event. An ack on a
    // later connection would name another delivery; the client drops it, the broker redelivers.
    handlers.event(message).then(
      () => {
        client.acknowledge(packet);
        settled(packet);
      },
      (err: unknown) => {
        // Not acknowledged on purpose: the broker redelivers it to our persistent session.
        if (!(err instanceof IngestAbortedError)) logger.error({ err, topic: message.topic }, 'ingest handler failed');
        settled(packet);
      },
    );
  }

  function settled(packet: IncomingPublish): void {
    if (--inFlight < config.maxInFlight && packet.connection === client.connection) client.resume();
  }

  return {
    connect() {
      if (client.connection === 0) client.open();
    },
    whenReady: () => ready,
    connected: () => client.connected,
    reconnect() {
      if (!stopping) client.restart(0);
    },
    close() {
      stopping = true;
      // A graceful end flushes the PUBACKs already due; a broker that is gone does not hold us up.
      return new Promise<void>((resolve) => client.end(false, resolve));
    },
  };
}
