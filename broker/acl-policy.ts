import type { EventKind } from '../schema/events.ts';
import { parseTopic, topics, type ParsedTopic } from '../schema/topics.ts';
import type { DeviceId } from '../schema/ids.ts';
import type { ServiceAccount } from './config.ts';

/**
 * Topic rights, deny by default. Pure: the same answer for the same (identity, topic), no I/O, so
 * every rule is testable without a socket. Anything outside the v1 topic grammar (including `$SYS/`
 * and `$share/`) is refused because parseTopic refuses it.
 *
 *   device  publish   its own coffee/v1/{id}/evt/{kind}, coffee/v1/{id}/state and
 *                     coffee/v1/{id}/cmd-result/{name} (the answer to a command)
 *           subscribe its own coffee/v1/{id}/consent, coffee/v1/{id}/cmd/# or a concrete cmd/{name}
 *   ingest  publish   coffee/v1/{any}/consent and coffee/v1/{any}/cmd/{name}
 *           subscribe coffee/v1/{id|+}/evt/{kind|+}, coffee/v1/{id|+}/state and
 *                     coffee/v1/{id|+}/cmd-result/{name|+}
 */

/** The part of an identity the policy looks at; every Identity is one. */
export type AclSubject = { kind: 'device'; deviceId: DeviceId } | { kind: 'service'; role: ServiceAccount['role'] };

export function mayPublish(identity: AclSubject, topic: string): boolean {
  if (hasWildcard(topic)) return false;
  const parsed = parseTopic(topic);
  if (parsed === null) return false;
  if (identity.kind === 'device') {
    return parsed.deviceId === identity.deviceId && (parsed.type === 'event' || parsed.type === 'state' || parsed.type === 'command-result');
  }
  switch (identity.role) {
    case 'ingest':
      return parsed.type === 'consent' || parsed.type === 'command';
  }
}

export function maySubscribe(identity: AclSubject, filter: string): boolean {
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
