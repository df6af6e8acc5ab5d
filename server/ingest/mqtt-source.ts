import mqtt, { type IPublishPacket, type MqttClient } from 'mqtt';
import type { Logger } from 'pino';
import { topics } from '../../schema/topics.ts';
import type { MqttConfig } from '../config.ts';
import type { IngestMessage } from './message.ts';
import { IngestAbortedError } from './retry.ts';

export interface MessageHandlers {
  /** Resolves when the message may be acknowledged. */
  event(message: IngestMessage): Promise<unknown>;
  state(message: IngestMessage): void;
  /** The broker had no session of ours: it is new or forgot its state, retained messages included. */
  sessionLost(): void;
}

export interface MqttSource {
  /** Shared with the consent publisher: one connection, one identity at the broker. */
  readonly client: MqttClient;
  connect(): void;
  /** Resolves once the subscriptions are granted the first time. */
  whenReady(): Promise<void>;
  connected(): boolean;
  close(): Promise<void>;
}

const END_TIMEOUT_MS = 2_000;

/**
 * The MQTT side of ingest: a persistent session (fixed client id, clean: false) with QoS 1
 * subscriptions, so messages published while the server is down wait at the broker.
 *
 * The PUBACK of a QoS 1 message goes out only when mqtt.js's `handleMessage` callback is called, which
 * we do after the handler resolved (row committed or refusal recorded). mqtt.js hands over one packet
 * at a time, so this caps throughput at one message per commit per connection; accepted for now, and
 * why this source is kept apart from the pipeline and the writers.
 */
export function createMqttSource(config: MqttConfig, handlers: MessageHandlers, logger: Logger): MqttSource {
  const client = mqtt.connect(config.url, {
    clientId: config.clientId,
    username: config.username,
    password: config.password,
    clean: false,
    protocolVersion: 4,
    reconnectPeriod: 1_000,
    connectTimeout: 10_000,
    // We subscribe on every connect ourselves; mqtt.js's own resubscribe would only double it.
    resubscribe: false,
    manualConnect: true,
  });

  let started = false;
  let markReady: () => void = () => undefined;
  const ready = new Promise<void>((resolve) => {
    markReady = resolve;
  });

  client.handleMessage = (packet: IPublishPacket, callback: (error?: Error) => void): void => {
    const message: IngestMessage = {
      topic: packet.topic,
      payload: Buffer.isBuffer(packet.payload) ? packet.payload : Buffer.from(packet.payload),
      receivedAt: new Date(),
    };
    if (message.topic.endsWith('/state')) {
      handlers.state(message);
      callback();
      return;
    }
    handlers.event(message).then(
      () => callback(),
      (err: unknown) => {
        // Not acknowledged on purpose: the broker redelivers it to our persistent session.
        if (!(err instanceof IngestAbortedError)) logger.error({ err, topic: message.topic }, 'ingest handler failed');
      },
    );
  };

  client.on('connect', (connack) => {
    logger.info({ sessionPresent: connack.sessionPresent }, 'ingest connected to broker');
    client
      .subscribeAsync({ [topics.filters.allEvents]: { qos: 1 }, [topics.filters.allStates]: { qos: 1 } })
      .then((granted) => {
        const refused = granted.filter((g) => g.qos === 128).map((g) => g.topic);
        if (refused.length > 0) logger.error({ refused }, 'broker refused ingest subscriptions');
        else markReady();
        if (!connack.sessionPresent) handlers.sessionLost();
      })
      .catch((err: unknown) => logger.warn({ err }, 'ingest subscribe failed; will retry on reconnect'));
  });
  client.on('error', (err) => logger.warn({ err: err.message }, 'ingest mqtt error'));
  client.on('offline', () => logger.warn('ingest disconnected from broker'));

  return {
    client,
    connect() {
      started = true;
      client.connect();
    },
    whenReady: () => ready,
    connected: () => client.connected,
    async close() {
      // A client that never connected has no stream for mqtt.js to end.
      if (!started) return;
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<'timeout'>((resolve) => {
        timer = setTimeout(() => resolve('timeout'), END_TIMEOUT_MS);
      });
      // A graceful end flushes the PUBACKs already written; a broker that is gone must not hold us up.
      const outcome = await Promise.race([client.endAsync(false).then(() => 'ended' as const), timedOut]);
      clearTimeout(timer);
      if (outcome === 'timeout') await client.endAsync(true);
    },
  };
}
