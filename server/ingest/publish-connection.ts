import type { Logger } from 'pino';
import { MqttClient } from '../../mqtt-wire/client.ts';
import type { PublishOptions } from '../../mqtt-wire/client-options.ts';
import type { MqttError } from '../../mqtt-wire/errors.ts';
import type { Properties } from '../../mqtt-wire/properties.ts';
import type { MqttConfig } from '../config.ts';

const CONNECT_TIMEOUT_MS = 10_000;

/** `properties`: the v5 PUBLISH properties, when it had any (e.g. a command result's Correlation Data). */
export type MessageListener = (topic: string, payload: Buffer, properties: Properties | undefined) => void;
export type SubscribeResult = (error: MqttError | undefined, granted: number[]) => void;

/**
 * The server's outbound MQTT connection (consent records, commands, revocation notices, command
 * results), apart from the ingest session: publishing has no need for the ingest socket's manual
 * acknowledgements. Same account, its own client id (`<clientId>-pub`, still in svc-), a clean
 * session: what it publishes is kept by the client until acknowledged, across reconnects (so a
 * publish made while disconnected goes out once the broker is back), and its subscriptions are made
 * again on every connection.
 */
export interface PublishConnection {
  readonly connected: boolean;
  /** QoS 1 unless `options.qos` says 0; resolves on the PUBACK, rejects with the broker's refusal (v5 reason code). */
  publish(topic: string, payload: string, options?: PublishOptions): Promise<void>;
  /** Subscribes to `filter` (QoS 1) now and after every reconnect; `result` hears of the first SUBACK. */
  subscribe(filter: string, result: SubscribeResult): void;
  /** Every message the connection receives, whatever subscription it came through. */
  onMessage(listener: MessageListener): void;
  close(): Promise<void>;
}

export function openPublishConnection(config: MqttConfig, logger: Logger): PublishConnection {
  const listeners: MessageListener[] = [];
  const subscriptions: Array<{ filter: string; result: SubscribeResult | null }> = [];
  const subscribeOne = (entry: (typeof subscriptions)[number]): void => {
    client.subscribe([entry.filter], (error, granted) => {
      // A SUBACK lost to a dropped connection is asked again on the next one.
      if (error?.code === 'ECONNRESET' || error?.code === 'ENOTCONN') return;
      entry.result?.(error, granted);
      entry.result = null;
    });
  };
  const client: MqttClient = new MqttClient(
    {
      url: config.url,
      protocolVersion: config.protocolVersion,
      clientId: `${config.clientId}-pub`,
      username: config.username,
      password: config.password,
      clean: true,
      keepaliveS: config.keepaliveSeconds,
      connectTimeoutMs: CONNECT_TIMEOUT_MS,
      reconnect: { initialMs: config.reconnectInitialMs, maxMs: config.reconnectMaxMs },
    },
    {
      connect: () => subscriptions.forEach(subscribeOne),
      close: () => undefined,
      error: (err) => logger.warn({ err: err.message, code: err.code }, 'publish connection error'),
      message: (publish) => {
        for (const listener of listeners) listener(publish.topic, publish.payload, publish.properties);
      },
      disconnect: (packet) => logger.warn({ reasonCode: packet.reasonCode }, 'broker disconnected the publish connection'),
    },
  );
  client.open();
  return {
    get connected() {
      return client.connected;
    },
    publish: (topic, payload, options = {}) =>
      new Promise<void>((resolve, reject) => {
        client.publish(topic, payload, options, (error) => (error ? reject(error) : resolve()));
      }),
    subscribe(filter, result) {
      const entry = { filter, result };
      subscriptions.push(entry);
      if (client.connected) subscribeOne(entry);
    },
    onMessage(listener) {
      listeners.push(listener);
    },
    close: () => new Promise<void>((resolve) => client.end(false, resolve)),
  };
}
