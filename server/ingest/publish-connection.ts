import mqtt, { type MqttClient } from 'mqtt';
import type { Logger } from 'pino';
import type { MqttConfig } from '../config.ts';

const END_TIMEOUT_MS = 2_000;

/**
 * The server's outbound MQTT connection (consent records, commands), apart from the ingest session:
 * publishing has no need for the ingest socket's pipelining, and keeping it on mqtt.js keeps its
 * queueing while disconnected. Same account, its own client id (`<clientId>-pub`, still in svc-).
 */
export interface PublishConnection {
  readonly client: MqttClient;
  close(): Promise<void>;
}

export function openPublishConnection(config: MqttConfig, logger: Logger): PublishConnection {
  const client = mqtt.connect(config.url, {
    clientId: `${config.clientId}-pub`,
    username: config.username,
    password: config.password,
    clean: true,
    protocolVersion: 4,
    reconnectPeriod: 1_000,
    connectTimeout: 10_000,
  });
  client.on('error', (err) => logger.warn({ err: err.message }, 'publish connection error'));
  return {
    client,
    async close() {
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<'timeout'>((resolve) => {
        timer = setTimeout(() => resolve('timeout'), END_TIMEOUT_MS);
      });
      const outcome = await Promise.race([client.endAsync(false).then(() => 'ended' as const), timedOut]);
      clearTimeout(timer);
      if (outcome === 'timeout') await client.endAsync(true);
    },
  };
}
