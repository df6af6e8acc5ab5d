/** The most a two-byte length prefix can announce (3.1.1 §1.5.3, v5 §1.5.4). */
const MAX_STRING_BYTES = 65_535;

/**
 * A topic name is at least one character, holds no wildcard [MQTT-3.3.2-2] and no U+0000
 * [MQTT-1.5.3-2] (v5 [MQTT-1.5.4-2]), and fits its two-byte length. A broker answers such a PUBLISH
 * by closing the connection (v5: DISCONNECT 0x82 protocol error), and a client that kept it would
 * send it again after every reconnect: the client refuses it up front instead.
 */
export function invalidTopicName(topic: string): boolean {
  if (topic.length === 0 || topic.includes('+') || topic.includes('#') || topic.includes('\u0000')) return true;
  // Three bytes per UTF-16 unit at most: only a long name needs counting.
  return topic.length * 3 > MAX_STRING_BYTES && Buffer.byteLength(topic) > MAX_STRING_BYTES;
}
