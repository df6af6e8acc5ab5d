import { COMMAND_NAMES } from '../schema/commands.ts';
import { CONTROL_TOPICS } from '../schema/control.ts';
import type { EventKind } from '../schema/events.ts';
import { parseTopic, topics, type ParsedTopic } from '../schema/topics.ts';
import type { DeviceId } from '../schema/ids.ts';
import type { ServiceAccount } from './config.ts';

/**
 * Topic rights, deny by default. Pure: the same answer for the same (identity, publish), no I/O, so
 * every rule is testable without a socket. Anything outside the v1 topic grammar (including `$SYS/`
 * and `$share/`) is refused because parseTopic refuses it.
 *
 *   device  publish   its own coffee/v1/{id}/evt/{kind}, coffee/v1/{id}/state and
 *                     coffee/v1/{id}/cmd-result/{name} for a command that exists (COMMAND_NAMES);
 *                     the retain flag only on its state (its will)
 *           subscribe its own coffee/v1/{id}/consent, coffee/v1/{id}/cmd/# or a concrete cmd/{name}
 *   ingest  publish   coffee/v1/{any}/consent (retained), coffee/v1/{any}/cmd/{name} for a command
 *                     that exists (never retained), an empty retained coffee/v1/{any}/state (which
 *                     clears an erased device's state [MQTT-3.3.1-10]) and the control topics
 *                     (schema/control.ts, never retained)
 *           subscribe coffee/v1/{id|+}/evt/{kind|+}, coffee/v1/{id|+}/state and
 *                     coffee/v1/{id|+}/cmd-result/{name|+}
 *   nobody  subscribes to a control topic: no filter above can match one.
 *
 * MQTT 5 Response Topics (mayNameResponseTopic): request/response runs one way, cloud -> device,
 * for commands. The ingest role may name a Response Topic only on a command, and only that command's
 * answer topic: coffee/v1/{same id}/cmd-result/{same name}, which the device may publish and the
 * server subscribes to already, so request/response needs no right beyond those listed above. A
 * device sends no requests and may name none. A test client of the permissive test mode gets
 * nothing here: only that mode's own policy (broker/permissive-test-mode.ts) lets it in.
 */

/** The part of an identity the policy looks at; every Identity is one. */
export type AclSubject = { kind: 'device'; deviceId: DeviceId } | { kind: 'service'; role: ServiceAccount['role'] } | { kind: 'test-client' };

/** What the broker's hooks ask; the production rules below, or the permissive test mode's. */
export interface TopicPolicy {
  publishVerdict(identity: AclSubject, topic: string, flags?: PublishFlags): PublishVerdict;
  maySubscribe(identity: AclSubject, filter: string): boolean;
  mayNameResponseTopic(identity: AclSubject, responseTopic: string, publishTopic: string): boolean;
}

/** What the policy needs of a PUBLISH besides its topic. */
export interface PublishFlags {
  retain: boolean;
  /** A zero-byte payload: with retain set it removes the retained message instead of setting one. */
  empty: boolean;
}

/** `retain_refused`: the topic is the publisher's to use, but not for a retained message. */
export type PublishVerdict = 'allow' | 'deny' | 'retain_refused';

const NOT_RETAINED: PublishFlags = { retain: false, empty: false };
const KNOWN_COMMANDS: ReadonlySet<string> = new Set(COMMAND_NAMES);
const CONTROL: ReadonlySet<string> = new Set(Object.values(CONTROL_TOPICS));

export function publishVerdict(identity: AclSubject, topic: string, flags: PublishFlags = NOT_RETAINED): PublishVerdict {
  if (identity.kind === 'test-client' || hasWildcard(topic)) return 'deny';
  if (identity.kind === 'service' && CONTROL.has(topic)) return flags.retain ? 'retain_refused' : 'allow';
  const parsed = parseTopic(topic);
  if (parsed === null) return 'deny';
  const unretained = flags.retain ? 'retain_refused' : 'allow';
  if (identity.kind === 'device') {
    if (parsed.deviceId !== identity.deviceId) return 'deny';
    switch (parsed.type) {
      case 'state':
        return 'allow';
      case 'event':
        return unretained;
      case 'command-result':
        return KNOWN_COMMANDS.has(parsed.name) ? unretained : 'deny';
      default:
        return 'deny';
    }
  }
  switch (identity.role) {
    case 'ingest':
      switch (parsed.type) {
        case 'consent':
          return 'allow';
        case 'command':
          return KNOWN_COMMANDS.has(parsed.name) ? unretained : 'deny';
        case 'state':
          return flags.retain && flags.empty ? 'allow' : 'deny';
        default:
          return 'deny';
      }
  }
}

export function mayPublish(identity: AclSubject, topic: string, flags: PublishFlags = NOT_RETAINED): boolean {
  return publishVerdict(identity, topic, flags) === 'allow';
}

export function maySubscribe(identity: AclSubject, filter: string): boolean {
  if (identity.kind === 'test-client') return false;
  if (identity.kind === 'device') {
    if (filter === topics.filters.deviceCommands(identity.deviceId)) return true;
    if (hasWildcard(filter)) return false;
    const parsed = parseTopic(filter);
    return parsed !== null && parsed.deviceId === identity.deviceId && (parsed.type === 'consent' || parsed.type === 'command');
  }
  switch (identity.role) {
    case 'ingest': {
      const parsed = parseIngestFilter(filter);
      return parsed !== null && (parsed.type === 'event' || parsed.type === 'state' || parsed.type === 'command-result');
    }
  }
}

/**
 * The receiver of a publish is asked to answer on its Response Topic, so a sender must not point
 * that answer anywhere but where the answer belongs: a command's own cmd-result topic (see above).
 */
export function mayNameResponseTopic(identity: AclSubject, responseTopic: string, publishTopic: string): boolean {
  if (identity.kind !== 'service' || identity.role !== 'ingest' || hasWildcard(responseTopic)) return false;
  const command = parseTopic(publishTopic);
  const answer = parseTopic(responseTopic);
  return (
    command?.type === 'command' &&
    answer?.type === 'command-result' &&
    KNOWN_COMMANDS.has(command.name) &&
    answer.deviceId === command.deviceId &&
    answer.name === command.name
  );
}

export const brewtelPolicy: TopicPolicy = { publishVerdict, maySubscribe, mayNameResponseTopic };

// Stand-ins that satisfy the grammar, so a filter with `+` exactly where the ingest role may use one
// parses like the concrete topic it stands for; a `+` anywhere else still fails to parse.
const ANY_DEVICE = 'any-device';
const ANY_KIND: EventKind = 'brew';
const ANY_COMMAND = 'any-command';

function parseIngestFilter(filter: string): ParsedTopic | null {
  if (filter.includes('#')) return null;
  const levels = filter.split('/');
  if (levels[2] === '+') levels[2] = ANY_DEVICE;
  if (levels.length === 5 && levels[4] === '+') {
    if (levels[3] === 'evt') levels[4] = ANY_KIND;
    else if (levels[3] === 'cmd-result') levels[4] = ANY_COMMAND;
  }
  return parseTopic(levels.join('/'));
}

function hasWildcard(topicOrFilter: string): boolean {
  return topicOrFilter.includes('+') || topicOrFilter.includes('#');
}
