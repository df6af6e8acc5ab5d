import type { Logger } from 'pino';
import { topics } from '../../schema/topics.ts';
import type { PublishConnection } from '../ingest/publish-connection.ts';
import type { CommandResults } from './command-results.ts';

/**
 * Listens for every device's command results on the server's outbound connection, which subscribes
 * again after every reconnect, so one call is enough. A broker whose ACL does not grant the filter is
 * reported once, loudly: commands would all time out.
 */
export function subscribeToResults(connection: PublishConnection, results: CommandResults, logger: Logger): void {
  connection.onMessage((topic, payload, properties) => results.accept(topic, payload, properties?.correlationData));
  connection.subscribe(topics.filters.allCommandResults, (error) => {
    if (error === undefined) return;
    if (typeof error.code === 'number') {
      logger.error(
        { filter: topics.filters.allCommandResults, code: 'command_results_refused', reasonCode: error.code },
        'the broker refused the command-result subscription; commands will time out',
      );
    } else logger.warn({ err: error.message, code: 'command_results_unsubscribed' }, 'could not subscribe to command results');
  });
}
