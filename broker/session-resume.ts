import type { Client } from 'aedes';

/**
 * [MQTT-3.1.2-5] A CONNECT with Clean Start 0 resumes the existing session, queued messages
 * included, whatever Session Expiry Interval the new connection asks for. aedes 2.0.0-beta.1 takes
 * a v5 client whose new interval is 0 for a clean session and clears the resumed session's queue
 * instead of sending it (lib/handlers/connect.js, emptyQueueFilter): acknowledged QoS 1/2 messages
 * lost. Such a client is kept a non-clean session while it is connected, so the queue goes out and
 * deliveries are tracked; with an interval of 0 aedes still wipes the session when the connection
 * ends. Called from the authenticate hook, before aedes restores the session.
 */
export function resumeQueuedMessages(client: Client): void {
  if (client.version === 5 && Reflect.get(client, '_cleanStart') === false && client.sessionExpiryInterval === 0) Reflect.set(client, 'clean', false);
}
