import fc from 'fast-check';
import { EVENT_KINDS } from '../../schema/events.ts';
import type { IngestOutcome } from '../../server/ingest/message.ts';
import type { RefusalReason } from '../../server/ingest/reasons.ts';
import { mutationArb, rawBytesArb, validEventArb, type Envelope } from './event-arbitraries.ts';
import { STORED_REGIONS, type IngestWorld } from './ingest-world.ts';
import { oracleConsent, oracleIngest, oracleInvalidPayload, oracleSender } from './oracle.ts';
import { newGroup, record, type GroupTally, type Verdict } from './tally.ts';

type Expected = 'stored' | RefusalReason;
export interface IngestCase {
  group: 'valid events' | 'topics' | 'schema mutations' | 'raw bytes' | 'extreme clocks';
  what: string;
  topic: string;
  payload: Buffer;
  expected: Expected;
  event: Envelope;
}

const CONCURRENCY = 256;
const eventTopic = (deviceId: string, kind: string): string => `coffee/v1/${deviceId}/evt/${kind}`;

/** Topics around the grammar: other senders, other kinds, other topic types, broken structure, noise. */
function topicArb(event: Envelope, deviceIds: readonly string[]): fc.Arbitrary<string> {
  const own = event.deviceId;
  return fc.oneof(
    fc.constantFrom(...deviceIds).map((other) => eventTopic(other, event.kind)),
    fc.constantFrom(...EVENT_KINDS).map((kind) => eventTopic(own, kind)),
    fc.constantFrom(
      `coffee/v1/${own}/state`,
      `coffee/v1/${own}/consent`,
      `coffee/v1/${own}/cmd/reboot`,
      `coffee/v2/${own}/evt/${event.kind}`,
      `coffee/v1/${own}/evt/${event.kind}/extra`,
      `coffee/v1/${own}/evt`,
      `/coffee/v1/${own}/evt/${event.kind}`,
      `coffee/v1/${own}/evt/${event.kind}/`,
      `coffee/v1/+/evt/${event.kind}`,
      `coffee/v1/${own}/evt/#`,
      `coffee/v1//evt/${event.kind}`,
      `$SYS/coffee/v1/${own}/evt/${event.kind}`,
      `$share/g/coffee/v1/${own}/evt/${event.kind}`,
      `coffee/v1/svc-ingest/evt/${event.kind}`,
      `COFFEE/v1/${own}/evt/${event.kind}`,
      `coffee/v1/${own.toUpperCase()}/evt/${event.kind}`,
      `coffee/v1/${own}/evt/${event.kind.toUpperCase()}`,
      `coffee/v1/${own}\u0000/evt/${event.kind}`,
      '',
    ),
    fc.string({ maxLength: 80 }),
    fc
      .array(fc.oneof(fc.constantFrom('coffee', 'v1', own, 'evt', event.kind, '+', '#', ''), fc.string({ maxLength: 8 })), { maxLength: 7 })
      .map((levels) => levels.join('/')),
  );
}

/** Times the contract's grammar admits but no plausible clock shows (and some the API could not write back out). */
const EXTREME_TIMES = [
  '9999-12-31T23:00:00-05:00',
  '9999-12-31T23:59:59.999Z',
  '0000-01-01T00:00:00Z',
  '0000-01-01T00:30:00+01:00',
  '1970-01-01T00:00:00Z',
  '2000-01-01T00:00:00+14:00',
  '2100-01-01T00:00:00-12:00',
];

export function ingestCaseArb(world: IngestWorld): fc.Arbitrary<IngestCase> {
  const ids = world.devices.map((d) => d.id);
  const expectValid = (topic: string, event: Envelope): Expected => oracleIngest(topic, event, world.senderOf, world.receivedAt, world.clock);
  // Payloads that are not a valid envelope: refused for the sender first (read before the payload), else for the payload.
  const expectInvalid = (topic: string, payload: Buffer, reason: RefusalReason): Expected =>
    oracleSender(topic, world.senderOf) ?? (reason === 'malformed_json' ? oracleInvalidPayload(payload) : reason);
  return validEventArb(ids, world.tsMin, world.tsMax).chain((event): fc.Arbitrary<IngestCase> => {
    const own = eventTopic(event.deviceId, event.kind);
    const valid: IngestCase = {
      group: 'valid events',
      what: `valid ${event.kind}`,
      topic: own,
      payload: Buffer.from(JSON.stringify(event)),
      expected: expectValid(own, event),
      event,
    };
    const withEvent = (what: string, group: IngestCase['group'], changed: Envelope): IngestCase => ({
      group,
      what,
      topic: own,
      payload: Buffer.from(JSON.stringify(changed)),
      expected: expectValid(own, changed),
      event: changed,
    });
    return fc.oneof(
      { weight: 4, arbitrary: fc.constant(valid) },
      {
        weight: 2,
        arbitrary: topicArb(event, ids).map((topic) => ({
          ...valid,
          group: 'topics' as const,
          what: 'valid payload, topic varied',
          topic,
          expected: expectValid(topic, event),
        })),
      },
      {
        weight: 3,
        arbitrary: mutationArb(event).map((m) => ({
          group: 'schema mutations' as const,
          what: m.what,
          topic: own,
          payload: m.payload,
          expected: expectInvalid(own, m.payload, 'schema_invalid'),
          event,
        })),
      },
      {
        weight: 1,
        arbitrary: rawBytesArb(event).map((m) => ({
          group: 'raw bytes' as const,
          what: m.what,
          topic: own,
          payload: m.payload,
          expected: expectInvalid(own, m.payload, 'malformed_json'),
          event,
        })),
      },
      { weight: 1, arbitrary: fc.constantFrom(...EXTREME_TIMES).map((ts) => withEvent(`device clock at ${ts}`, 'extreme clocks', { ...event, ts })) },
    );
  });
}

function judge(expected: Expected, outcome: IngestOutcome | 'threw'): Verdict {
  if (outcome === 'threw' || (outcome.status === 'refused' && outcome.reason === 'internal_error')) return 'crash';
  if (expected === 'stored') return outcome.status === 'stored' ? 'ok' : 'wrongly_refused';
  if (outcome.status === 'stored') return 'wrongly_accepted';
  return outcome.reason === expected ? 'ok' : 'wrong_reason';
}

const describeCase = (c: IngestCase, outcome: IngestOutcome | 'threw'): string =>
  `${c.what} (${c.event.kind}) on ${JSON.stringify(c.topic.slice(0, 80))}: expected ${c.expected}, got ${outcome === 'threw' ? 'a rejection' : outcome.status === 'stored' ? 'stored' : outcome.reason}`;

/**
 * Runs `runs` generated cases through the real ingest, many in flight at once as a broker would hand
 * them over, then resends some stored ones (redelivery) and checks the stores themselves.
 */
export async function fuzzIngest(world: IngestWorld, runs: number, seed: number): Promise<GroupTally[]> {
  const groups = new Map<IngestCase['group'], GroupTally>();
  const tallyOf = (g: IngestCase['group']): GroupTally => groups.get(g) ?? groups.set(g, newGroup(`ingest ${g}`)).get(g)!;
  const storedCases: IngestCase[] = [];
  const handle = async (c: IngestCase): Promise<IngestOutcome | 'threw'> =>
    world.ingest.handle({ topic: c.topic, payload: c.payload, receivedAt: new Date(world.receivedAt) }).catch(() => 'threw' as const);

  // Generated slice by slice (seed, seed+1, …) so a long run never holds every payload at once.
  for (let done = 0; done < runs; done += CONCURRENCY) {
    const chunk = fc.sample(ingestCaseArb(world), { numRuns: Math.min(CONCURRENCY, runs - done), seed: seed + done / CONCURRENCY });
    const outcomes = await Promise.all(chunk.map(handle));
    chunk.forEach((c, j) => {
      const outcome = outcomes[j]!;
      const stored = outcome !== 'threw' && outcome.status === 'stored';
      if (stored && c.expected === 'stored') storedCases.push(c);
      record(tallyOf(c.group), stored, judge(c.expected, outcome), () => describeCase(c, outcome));
    });
  }

  const redelivery = newGroup('ingest redelivered duplicates');
  const again = storedCases.filter((_, i) => i % 10 === 0);
  const outcomes = await Promise.all(again.map(handle));
  again.forEach((c, j) => {
    const outcome = outcomes[j]!;
    record(redelivery, outcome !== 'threw' && outcome.status === 'stored', judge('stored', outcome), () => describeCase(c, outcome));
  });

  // The same event ids sent by other devices of the population: each device's event is its own, so
  // these are decided like any event of theirs, and none hides (or is hidden by) the first one.
  const shared = newGroup('ingest event ids shared across devices');
  const ids = world.devices.map((d) => d.id);
  const borrowed = storedCases
    .filter((_, i) => i % 10 === 5)
    .map((c): IngestCase => {
      const event = { ...c.event, deviceId: ids[(ids.indexOf(c.event.deviceId) + 1) % ids.length]! };
      const topic = eventTopic(event.deviceId, event.kind);
      return {
        ...c,
        what: 'an event id another device already used',
        topic,
        payload: Buffer.from(JSON.stringify(event)),
        event,
        expected: oracleIngest(topic, event, world.senderOf, world.receivedAt, world.clock),
      };
    });
  const borrowedOutcomes = await Promise.all(borrowed.map(handle));
  borrowed.forEach((c, j) => {
    const outcome = borrowedOutcomes[j]!;
    const stored = outcome !== 'threw' && outcome.status === 'stored';
    if (stored && c.expected === 'stored') storedCases.push(c);
    record(shared, stored, judge(c.expected, outcome), () => describeCase(c, outcome));
  });
  return [...groups.values(), redelivery, shared, await checkStores(world, storedCases)];
}

/**
 * What is on disk: every accepted event exactly once (per device and event id), in its home region
 * only, and a location no more precise than the consent in force allowed.
 */
async function checkStores(world: IngestWorld, accepted: readonly IngestCase[]): Promise<GroupTally> {
  const tally = newGroup('ingest rows on disk');
  const key = (deviceId: string, id: string): string => `${deviceId}/${id}`;
  const expected = new Map(accepted.map((c) => [key(c.event.deviceId, c.event.id), c]));
  const homeOf = new Map(world.devices.map((d) => [d.id, d]));
  const seen = new Set<string>();
  for (const region of STORED_REGIONS) {
    for (const row of await world.events(region)) {
      const c = expected.get(key(row.deviceId, row.id));
      const duplicate = seen.has(key(row.deviceId, row.id));
      seen.add(key(row.deviceId, row.id));
      const home = homeOf.get(row.deviceId);
      if (!c || duplicate || home?.region !== region) {
        record(
          tally,
          true,
          'wrongly_accepted',
          () => `row ${row.id} in ${region}: ${!c ? 'never accepted' : duplicate ? 'stored twice' : 'outside its home region'}`,
        );
        continue;
      }
      const precision = oracleConsent(c.event.kind, home.ledger, Date.parse(c.event.ts)).precision;
      const tooPrecise =
        c.event.kind === 'location' && precision === 'coarse' && !isCoarse(JSON.parse(row.body) as { lat: number; lon: number; accuracyM: number });
      record(tally, true, tooPrecise ? 'wrongly_accepted' : 'ok', () => `location ${row.id} kept more precisely than consented`);
    }
  }
  for (const id of expected.keys()) if (!seen.has(id)) record(tally, false, 'wrongly_refused', () => `accepted event ${id} not on disk`);
  return tally;
}

/** README: coarse is a 0.1 degree grid and an accuracy claim of at least 10 km. */
function isCoarse(body: { lat: number; lon: number; accuracyM: number }): boolean {
  const onGrid = (v: number): boolean => Math.abs(v * 10 - Math.round(v * 10)) < 1e-6;
  return onGrid(body.lat) && onGrid(body.lon) && body.accuracyM >= 10_000;
}
