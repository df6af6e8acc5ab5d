import { z } from 'zod';
import { deviceIdSchema, type DeviceId } from './ids.ts';
import { eventKindSchema, type EventKind } from './events.ts';

/**
 * Topic grammar, version 1. Every topic of the system is one of these shapes; anything else is
 * not ours and is refused.
 *
 *   coffee/v1/{deviceId}/evt/{kind}          device -> cloud, QoS 1
 *   coffee/v1/{deviceId}/state               retained `online` / `offline` (the will sets `offline`)
 *   coffee/v1/{deviceId}/consent             retained, cloud -> device
 *   coffee/v1/{deviceId}/cmd/{name}          cloud -> device
 *   coffee/v1/{deviceId}/cmd-result/{name}   device -> cloud, QoS 1, not retained: the answer to a
 *                                            command (schema/commands.ts). An additive extension of
 *                                            v1: a consumer that does not know it never subscribes
 *                                            to it, so nothing changes for old consumers.
 */
export const TOPIC_ROOT = 'coffee/v1';

export const commandNameSchema = z.string().regex(/^[a-z][a-z0-9-]{0,31}$/, 'a command name is 1-32 lowercase letters, digits or dashes');

export const deviceStateSchema = z.enum(['online', 'offline']);
export type DeviceState = z.infer<typeof deviceStateSchema>;

export type ParsedTopic =
  | { type: 'event'; deviceId: DeviceId; kind: EventKind }
  | { type: 'state'; deviceId: DeviceId }
  | { type: 'consent'; deviceId: DeviceId }
  | { type: 'command'; deviceId: DeviceId; name: string }
  | { type: 'command-result'; deviceId: DeviceId; name: string };

export const topics = {
  event: (deviceId: DeviceId, kind: EventKind): string => `${TOPIC_ROOT}/${deviceId}/evt/${kind}`,
  state: (deviceId: DeviceId): string => `${TOPIC_ROOT}/${deviceId}/state`,
  consent: (deviceId: DeviceId): string => `${TOPIC_ROOT}/${deviceId}/consent`,
  command: (deviceId: DeviceId, name: string): string => `${TOPIC_ROOT}/${deviceId}/cmd/${name}`,
  commandResult: (deviceId: DeviceId, name: string): string => `${TOPIC_ROOT}/${deviceId}/cmd-result/${name}`,
  /** Subscription filters a service account uses; devices are never granted wildcards. */
  filters: {
    allEvents: `${TOPIC_ROOT}/+/evt/+`,
    allStates: `${TOPIC_ROOT}/+/state`,
    deviceCommands: (deviceId: DeviceId): string => `${TOPIC_ROOT}/${deviceId}/cmd/#`,
    allCommandResults: `${TOPIC_ROOT}/+/cmd-result/+`,
  },
} as const;

/** Parses a concrete topic name (no wildcards). Returns null for anything outside the grammar. */
export function parseTopic(topic: string): ParsedTopic | null {
  const levels = topic.split('/');
  if (levels.length < 4 || levels.length > 5 || levels[0] !== 'coffee' || levels[1] !== 'v1') return null;
  const device = deviceIdSchema.safeParse(levels[2]);
  if (!device.success) return null;
  const deviceId = device.data;
  const [, , , leaf, name] = levels;
  if (levels.length === 4) {
    if (leaf === 'state') return { type: 'state', deviceId };
    if (leaf === 'consent') return { type: 'consent', deviceId };
    return null;
  }
  if (leaf === 'evt') {
    const kind = eventKindSchema.safeParse(name);
    return kind.success ? { type: 'event', deviceId, kind: kind.data } : null;
  }
  if (leaf === 'cmd' || leaf === 'cmd-result') {
    const command = commandNameSchema.safeParse(name);
    if (!command.success) return null;
    return { type: leaf === 'cmd' ? 'command' : 'command-result', deviceId, name: command.data };
  }
  return null;
}

/**
 * Every topic of a device that can hold a retained message: its state (its will) and its consent
 * record. The broker refuses the retain flag anywhere else, so clearing these (an empty retained
 * payload each [MQTT-3.3.1-10]) leaves nothing of the device at the broker.
 */
export function retainedTopicsOf(deviceId: DeviceId): readonly string[] {
  return [topics.state(deviceId), topics.consent(deviceId)];
}
