import fc from 'fast-check';
import { EVENT_KINDS } from '../../schema/events.ts';
import type { IngestOutcome } from '../../server/ingest/message.ts';
import type { RefusalReason } from '../../server/ingest/reasons.ts';
import { readRegionStore } from '../support/sqlite-stores.ts';
import { mutationArb, rawBytesArb, validEventArb, type Envelope } from './event-arbitraries.ts';
import { STORED_REGIONS, type IngestWorld } from './ingest-world.ts';
import { oracleConsent, oracleIngest, oracleInvalidPayload } from './oracle.ts';
import { newGroup, record, type GroupTally, type Verdict } from './tally.ts';

type Expected = 'stored' | RefusalReason;
export interface IngestCase {
  group: 'valid events' | 'topics' | 'schema mutations' | 'raw bytes';
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
      `coffee/v1/${own}/state`, `coffee/v1/${own}/consent`, `coffee/v1/${own}/cmd/reboot`, `coffee/v2/${own}/evt/${event.kind}`,
      `coffee/v1/${own}/evt/${event.kind}/extra`, `coffee/v1/${own}/evt`, `/coffee/v1/${own}/evt/${event.kind}`, `coffee/v1/${own}/evt/${event.kind}/`,
      `coffee/v1/+/evt/${event.kind}`, `coffee/v1/${own}/evt/#`, `coffee/v1//evt/${event.kind}`, `$SYS/coffee/v1/${own}/evt/${event.kind}`,
      `$share/g/coffee/v1/${own}/evt/${event.kind}`, `coffee/v1/svc-ingest/evt/${event.kind}`, `COFFEE/v1/${own}/evt/${event.kind}`,
      `coffee/v1/${own.toUpperCase()}/evt/${event.kind}`, `coffee/v1/${own}/evt/${event.kind.toUpperCase()}`, `coffee/v1/${own}\u0000/evt/${event.kind}`, '',
    ),
    fc.string({ maxLength: 80 }),
    fc.array(fc.oneof(fc.constantFrom('coffee', 'v1', own, 'evt', event.kind, '+', '#', ''), fc.string({ maxLength: 8 })), { maxLength: 7 }).map((levels) => levels.join('/')),
  );
}

export function ingestCaseArb(world: IngestWorld): fc.Arbitrary<IngestCase> {
  const ids = world.devices.map((d) => d.id);
  const expectValid = (topic: string, event: Envelope): Expected => oracleIngest(topic, event, world.senderOf);
  return validEventArb(ids, world.tsMin, world.tsMax).chain((event): fc.Arbitrary<IngestCase> => {
    const own = eventTopic(event.deviceId, event.kind);
    const valid: IngestCase = { group: 'valid events', what: `valid ${event.kind}`, topic: own, payload: Buffer.from(JSON.stringify(event)), expected: expectValid(own, event), event };
    return fc.oneof(
      { weight: 4, arbitrary: fc.constant(valid) },
      { weight: 2, arbitrary: topicArb(event, ids).map((topic) => ({ ...valid, group: 'topics' as const, what: 'valid payload, topic varied', topic, expected: expectValid(topic, event) })) },
      { weight: 3, arbitrary: mutationArb(event).map((m) => ({ group: 'schema mutations' as const, what: m.what, topic: own, payload: m.payload, expected: 'schema_invalid' as const, event })) },
      { weight: 1, arbitrary: rawBytesArb(event).map((m) => ({ group: 'raw bytes' as const, what: m.what, topic: own, payload: m.payload, expected: oracleInvalidPayload(m.payload), event })) },
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
    world.ingest.handle({ topic: c.topic, payload: c.payload, receivedAt: new Date() }).catch(() => 'threw' as const);

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
  return [...groups.values(), redelivery, checkStores(world, storedCases)];
}

/**
 * What is on disk: every accepted event exactly once, in its home region only, and a location no
 * more precise than the consent in force allowed.
 */
function checkStores(world: IngestWorld, accepted: readonly IngestCase[]): GroupTally {
  const tally = newGroup('ingest rows on disk');
  const expected = new Map(accepted.map((c) => [c.event.id, c]));
  const homeOf = new Map(world.devices.map((d) => [d.id, d]));
  const seen = new Set<string>();
  for (const region of STORED_REGIONS) {
    for (const row of readRegionStore(world.dataDir, region).events) {
      const c = expected.get(row.id);
      const duplicate = seen.has(row.id);
      seen.add(row.id);
      const home = homeOf.get(row.deviceId);
      if (!c || duplicate || home?.region !== region) {
        record(tally, true, 'wrongly_accepted', () => `row ${row.id} in ${region}: ${!c ? 'never accepted' : duplicate ? 'stored twice' : 'outside its home region'}`);
        continue;
      }
      const precision = oracleConsent(c.event.kind, home.ledger, Date.parse(c.event.ts)).precision;
      const tooPrecise = c.event.kind === 'location' && precision === 'coarse' && !isCoarse(JSON.parse(row.body) as { lat: number; lon: number; accuracyM: number });
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
