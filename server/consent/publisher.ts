import type { ConsentRecord } from '../../schema/consent.ts';
import { retainedTopicsOf, topics } from '../../schema/topics.ts';
import type { PublishConnection } from '../ingest/publish-connection.ts';
import type { ConsentRow } from '../store/types.ts';

/** Pushes a device's current consent record to it. The ledger stays the source of truth. */
export interface ConsentPublisher {
  publish(record: ConsentRecord): Promise<void>;
}

export function toConsentRecord(row: ConsentRow): ConsentRecord {
  return { deviceId: row.deviceId, version: row.version, issuedAt: row.issuedAt.toISOString(), categories: row.categories };
}

/**
 * Retained and QoS 1 on the server's outbound connection: a device that connects later still gets
 * it, and the broker has it once this resolves. Kept by the client while disconnected.
 */
export function mqttConsentPublisher(connection: PublishConnection): ConsentPublisher {
  return {
    async publish(record) {
      await connection.publish(topics.consent(record.deviceId), JSON.stringify(record), { qos: 1, retain: true });
    },
  };
}

/**
 * Removes every retained message of an erased device from the broker, its consent record and its
 * state (an empty retained payload each [MQTT-3.3.1-10]): nothing of it should be handed to whoever
 * subscribes next. The broker lets a device retain nothing else.
 */
export async function clearRetainedMessages(connection: PublishConnection, deviceId: string): Promise<void> {
  await Promise.all(retainedTopicsOf(deviceId).map((topic) => connection.publish(topic, '', { qos: 1, retain: true })));
}
