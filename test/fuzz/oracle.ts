/**
 * The fuzz oracle: the rules of README.md and DESIGN.md written down a second time, on purpose
 * without importing the code under test (schema parsers, the ACL policy, the consent decision), so a
 * bug in one of those cannot hide by agreeing with itself. Only the contract's word lists are shared.
 */
import { COMMAND_NAMES } from '../../schema/commands.ts';
import { EVENT_KINDS, type EventKind } from '../../schema/events.ts';
import type { RefusalReason } from '../../server/ingest/reasons.ts';

export const DEVICE_ID = /^[a-z0-9][a-z0-9-]{2,63}$/;
const COMMAND_NAME = /^[a-z][a-z0-9-]{0,31}$/;

export const isDeviceId = (s: string): boolean => DEVICE_ID.test(s) && !s.startsWith('svc-');
const isKind = (s: string): s is EventKind => (EVENT_KINDS as readonly string[]).includes(s);

export type OracleTopic =
  | { type: 'event'; deviceId: string; kind: EventKind }
  | { type: 'state' | 'consent'; deviceId: string }
  | { type: 'command' | 'command-result'; deviceId: string };

/** coffee/v1/{id}/evt/{kind} | state | consent | cmd/{name} | cmd-result/{name}; nothing else, no wildcard anywhere. */
export function oracleTopic(topic: string): OracleTopic | null {
  const l = topic.split('/');
  if (l[0] !== 'coffee' || l[1] !== 'v1' || !isDeviceId(l[2] ?? '')) return null;
  const deviceId = l[2]!;
  if (l.length === 4 && (l[3] === 'state' || l[3] === 'consent')) return { type: l[3], deviceId };
  if (l.length === 5 && l[3] === 'evt' && isKind(l[4]!)) return { type: 'event', deviceId, kind: l[4] };
  if (l.length === 5 && l[3] === 'cmd' && COMMAND_NAME.test(l[4]!)) return { type: 'command', deviceId };
  if (l.length === 5 && l[3] === 'cmd-result' && COMMAND_NAME.test(l[4]!)) return { type: 'command-result', deviceId };
  return null;
}

export type Who = { kind: 'device'; deviceId: string } | { kind: 'ingest' };

/**
 * README "broker/": a device publishes its own evt/{kind}, state and cmd-result/{name}; ingest publishes
 * consent and cmd/{name}; {name} is one of the commands that exist. docs/security.md: the retain flag
 * only on a device's own state or by ingest on consent; ingest may clear (empty retained) a state;
 * ingest alone may publish the `$brewtel/v1/credentials-revoked` control topic, never retained.
 */
export function oracleMayPublish(who: Who, topic: string, retain = false, empty = false): boolean {
  if (who.kind === 'ingest' && topic === '$brewtel/v1/credentials-revoked') return !retain;
  const t = oracleTopic(topic);
  if (!t) return false;
  const knownCommand = (COMMAND_NAMES as readonly string[]).includes(topic.split('/')[4] ?? '');
  if (who.kind === 'device') {
    if (t.deviceId !== who.deviceId) return false;
    if (t.type === 'state') return true;
    return !retain && (t.type === 'event' || (t.type === 'command-result' && knownCommand));
  }
  if (t.type === 'state') return retain && empty;
  return t.type === 'consent' || (t.type === 'command' && knownCommand && !retain);
}

/**
 * A device subscribes to its own consent, cmd/# or one cmd/{name}; ingest to coffee/v1/{id|+}/evt/{kind|+},
 * coffee/v1/{id|+}/state and coffee/v1/{id|+}/cmd-result/{name|+}. No other wildcard, ever.
 */
export function oracleMaySubscribe(who: Who, filter: string): boolean {
  const l = filter.split('/');
  if (who.kind === 'device') {
    if (filter === `coffee/v1/${who.deviceId}/cmd/#`) return true;
    const t = oracleTopic(filter);
    return t !== null && t.deviceId === who.deviceId && (t.type === 'consent' || t.type === 'command');
  }
  if (l[0] !== 'coffee' || l[1] !== 'v1' || filter.includes('#')) return false;
  if (l[2] !== '+' && !isDeviceId(l[2] ?? '')) return false;
  if (l.length === 4) return l[3] === 'state';
  if (l.length !== 5) return false;
  if (l[3] === 'evt') return l[4] === '+' || isKind(l[4]!);
  return l[3] === 'cmd-result' && (l[4] === '+' || COMMAND_NAME.test(l[4]!));
}

export type Precision = 'none' | 'coarse' | 'exact';
export interface Categories {
  usage: boolean;
  location: Precision;
  payment: boolean;
  diagnostics: boolean;
}
export interface LedgerEntry {
  version: number;
  issuedAt: number;
  categories: Categories;
}

const NOTHING: Categories = { usage: false, location: 'none', payment: false, diagnostics: false };
const RANK: Record<Precision, number> = { none: 0, coarse: 1, exact: 2 };

/** README "Consent": the stricter of the record in force at the event's device time and the latest one. */
export function oracleConsent(kind: EventKind, ledger: readonly LedgerEntry[], eventTs: number): { allowed: boolean; precision: Precision } {
  const newest = (entries: readonly LedgerEntry[]): Categories =>
    entries.reduce<LedgerEntry | null>((best, e) => (!best || e.version > best.version ? e : best), null)?.categories ?? NOTHING;
  const then = newest(ledger.filter((e) => e.issuedAt <= eventTs));
  const now = newest(ledger);
  const precision = RANK[then.location] <= RANK[now.location] ? then.location : now.location;
  switch (kind) {
    case 'brew':
      return { allowed: then.usage && now.usage, precision };
    case 'payment':
      return { allowed: then.payment && now.payment, precision };
    case 'status':
    case 'fault':
      return { allowed: then.diagnostics && now.diagnostics, precision };
    case 'location':
      return { allowed: precision !== 'none', precision };
  }
}

/** What the server knows about a sender, as the fuzz harness provisioned it. */
export type Sender = { registered: false } | { registered: true; storedRegion: boolean; ledger: readonly LedgerEntry[] };

/** How far a device clock may be ahead of or behind the receive time (the server's configuration). */
export interface ClockWindow {
  aheadMs: number;
  behindMs: number;
}

/** README "ingest": the clock window around the receive time, and never outside years 0000-9999 in UTC. */
export function oracleClockOk(ts: string, receivedAt: number, window: ClockWindow): boolean {
  const at = Date.parse(ts);
  return (
    at >= receivedAt - window.behindMs &&
    at <= receivedAt + window.aheadMs &&
    at >= Date.parse('0000-01-01T00:00:00Z') &&
    at <= Date.parse('9999-12-31T23:59:59.999Z')
  );
}

/**
 * README "ingest": the sender, named by the topic, is identified and routed before anything reads
 * the payload. Undefined when it passes (then the payload decides).
 */
export function oracleSender(topic: string, senderOf: (deviceId: string) => Sender): RefusalReason | undefined {
  const t = oracleTopic(topic);
  if (t?.type !== 'event') return 'topic_invalid';
  const sender = senderOf(t.deviceId);
  if (!sender.registered) return 'unknown_device';
  if (!sender.storedRegion) return 'region_unavailable';
  return undefined;
}

/**
 * The expected outcome of a payload that is a valid envelope (the generator guarantees it), sent on
 * `topic`. Order follows the documented steps: the sender (topic, directory, region), then the
 * payload (decode, validate), the envelope against the topic (device, kind), the clock, consent.
 */
export function oracleIngest(
  topic: string,
  event: { deviceId: string; kind: EventKind; ts: string },
  senderOf: (deviceId: string) => Sender,
  receivedAt: number,
  window: ClockWindow,
): 'stored' | RefusalReason {
  const refused = oracleSender(topic, senderOf);
  if (refused) return refused;
  const t = oracleTopic(topic) as Extract<OracleTopic, { type: 'event' }>;
  if (t.deviceId !== event.deviceId) return 'device_mismatch';
  if (t.kind !== event.kind) return 'kind_mismatch';
  if (!oracleClockOk(event.ts, receivedAt, window)) return 'clock_out_of_range';
  const sender = senderOf(t.deviceId) as Extract<Sender, { registered: true }>;
  return oracleConsent(event.kind, sender.ledger, Date.parse(event.ts)).allowed ? 'stored' : 'not_consented';
}

/** Payload-level expectation for bytes that are not a valid envelope: JSON.parse decides which reason. */
export function oracleInvalidPayload(payload: Buffer): RefusalReason {
  try {
    JSON.parse(payload.toString('utf8'));
    return 'schema_invalid';
  } catch {
    return 'malformed_json';
  }
}
