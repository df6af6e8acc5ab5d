import type { PublishPacket } from 'aedes';
import type { AclSubject, TopicPolicy } from './acl-policy.ts';

/**
 * The MQTT 5 properties of a PUBLISH or will that can reach past the topic policy, checked before
 * it is admitted. User properties and correlation data travel unchanged: aedes routes on the topic
 * alone, so they cannot reach anyone the topic does not, and the packet size cap bounds them. Topic
 * aliases are resolved by aedes before the hooks run, so the policy always sees the real topic.
 */
export type PropertyVerdict =
  | { ok: true }
  /** The publisher may not use this property value: a QoS 1 publish gets PUBACK 0x87, the connection stays. */
  | { ok: false; kind: 'response_topic_denied' }
  /** Not allowed from a client at all: the connection is closed (DISCONNECT 0x82). */
  | { ok: false; kind: 'protocol_error'; detail: string };

const OK: PropertyVerdict = { ok: true };

export function checkPublishProperties(subject: AclSubject, packet: PublishPacket, policy: TopicPolicy): PropertyVerdict {
  const properties = packet.properties;
  if (properties === undefined) return OK;
  // [MQTT-3.3.4-6] A PUBLISH from a Client MUST NOT contain a Subscription Identifier; forwarded, it
  // would tell a subscriber that the message matched a subscription it never made.
  if (properties.subscriptionIdentifier !== undefined)
    return { ok: false, kind: 'protocol_error', detail: 'subscription identifier in a PUBLISH from a client' };
  if (properties.responseTopic !== undefined && !policy.mayNameResponseTopic(subject, properties.responseTopic, packet.topic))
    return { ok: false, kind: 'response_topic_denied' };
  return OK;
}

/**
 * What aedes 2.0.0-beta.1 leaves in the one object it then publishes that no PUBLISH may carry on:
 *
 * - the Will Delay Interval of a will: a will property only (§3.1.3.2.2); in a PUBLISH it is a
 *   malformed packet that a strict MQTT 5 subscriber (libmosquitto) disconnects on;
 * - the Topic Alias key of a publish whose alias aedes resolved: aedes sets it to undefined rather than
 *   removing it. In cluster mode aedes-persistence-redis (and mqemitter-redis, the emitter
 *   used before cluster-emitter.ts) carry the packet through msgpack, which turns undefined into null, and mqtt-packet refuses to encode `topicAlias: null`
 *   ("Invalid topicAlias: null"): every subscriber the message reached was disconnected and the
 *   message lost. Aliases belong to the publisher's connection and never travel on [MQTT-3.3.2-7].
 *
 * Both are dropped here, by replacing the properties object (aedes shares it with every copy it sends).
 */
export function dropNonPublishProperties(packet: PublishPacket): void {
  const properties = packet.properties as (PublishPacket['properties'] & { willDelayInterval?: number }) | undefined;
  if (properties === undefined || (properties.willDelayInterval === undefined && !Object.hasOwn(properties, 'topicAlias'))) return;
  const { willDelayInterval: _delay, topicAlias: _alias, ...publishable } = properties;
  packet.properties = publishable;
}
