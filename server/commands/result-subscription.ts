import type { MqttClient } from 'mqtt';
import type { Logger } from 'pino';
import { topics } from '../../schema/topics.ts';
import type { CommandResults } from './command-results.ts';

/** MQTT's SUBACK code for a refused subscription. */
const SUBACK_FAILURE = 128;

/**
 * Listens for every device's command results on the server's outbound connection. mqtt.js queues
 * the subscription until connected and subscribes again after a reconnect, so one call is enough.
 * A broker whose ACL does not grant the filter is reported once, loudly: commands would all time out.
 */
export function subscribeToResults(client: MqttClient, results: CommandResults, logger: Logger): void {
  client.on('message', (topic, payload) => results.accept(topic, payload));
  client.subscribe(topics.filters.allCommandResults, { qos: 1 }, (error, granted) => {
    if (error) logger.warn({ err: error.message, code: 'command_results_unsubscribed' }, 'could not subscribe to command results');
    else if (granted?.some((g) => g.qos === SUBACK_FAILURE)) {
      logger.error({ filter: topics.filters.allCommandResults, code: 'command_results_refused' }, 'the broker refused the command-result subscription; commands will time out');
    }
  });
}
