import { CONTROL_TOPICS, credentialsRevokedSchema } from '../../schema/control.ts';
import type { PublishConnection } from '../ingest/publish-connection.ts';

export type NoticeOutcome = 'acknowledged' | 'unacknowledged' | 'no_broker';

/**
 * Publishes a credential revocation notice (schema/control.ts) on the server's service-account
 * connection, QoS 1, not retained, and waits for the broker's PUBACK up to `timeoutMs`. The broker
 * never delivers it to a client: every broker node acts on it (broker/revocation-listener.ts).
 * Unacknowledged in time, it stays with the client, which sends it again after a reconnect.
 */
export async function publishRevocation(connection: PublishConnection | null, deviceId: string, timeoutMs: number): Promise<NoticeOutcome> {
  if (connection === null) return 'no_broker';
  const notice = JSON.stringify(credentialsRevokedSchema.parse({ v: 1, deviceId }));
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<NoticeOutcome>((resolve) => {
    timer = setTimeout(() => resolve('unacknowledged'), timeoutMs);
  });
  try {
    return await Promise.race([
      connection.publish(CONTROL_TOPICS.credentialsRevoked, notice, { qos: 1, retain: false }).then((): NoticeOutcome => 'acknowledged'),
      timeout,
    ]);
  } catch {
    return 'unacknowledged';
  } finally {
    clearTimeout(timer);
  }
}
