import fc from 'fast-check';
import type { RefusalReason } from '../../server/ingest/reasons.ts';
import { readRegionStore } from '../support/sqlite-stores.ts';
import { mutationArb, rawBytesArb, validEventArb, type Envelope } from './event-arbitraries.ts';
import { oracleIngest, oracleInvalidPayload } from './oracle.ts';
import { mismatch, newGroup, record, type GroupTally } from './tally.ts';
import type { WireWorld } from './wire-world.ts';

const DAY = 86_400_000;
/**
 * The clocks generated here lie within a day of now, well inside the window the launcher gives its
 * server (a month behind, as far ahead as its accelerated fleet gets): none is refused for its clock.
 */
const WITHIN_THE_LAUNCHERS_WINDOW = { aheadMs: 2 * DAY, behindMs: 2 * DAY };
interface WireCase {
  event: Envelope;
  payload: Buffer;
  expected: 'stored' | RefusalReason;
  what: string;
}

/**
 * Generated payloads published by real devices over MQTT through our broker to the running server:
 * each accepted or refused as the oracle says (read back from the stores on disk), and the refusal
 * reasons counted by the server match the oracle's, reason by reason.
 */
export async function fuzzWirePayloads(world: WireWorld, runs: number, seed: number): Promise<GroupTally> {
  const tally = newGroup('wire payloads (broker + server)');
  const ids = world.devices.map((d) => d.id);
  const issued = Math.min(...world.devices.map((d) => d.ledger[0]!.issuedAt));
  const arb = validEventArb(ids, issued - DAY, Date.now() + DAY).chain((event) => {
    const topic = `coffee/v1/${event.deviceId}/evt/${event.kind}`;
    return fc.oneof(
      {
        weight: 4,
        arbitrary: fc.constant<WireCase>({
          event,
          payload: Buffer.from(JSON.stringify(event)),
          expected: oracleIngest(topic, event, world.senderOf, Date.now(), WITHIN_THE_LAUNCHERS_WINDOW),
          what: `valid ${event.kind}`,
        }),
      },
      { weight: 3, arbitrary: mutationArb(event).map((m): WireCase => ({ event, payload: m.payload, expected: 'schema_invalid', what: m.what })) },
      {
        weight: 1,
        arbitrary: rawBytesArb(event).map((m): WireCase => ({ event, payload: m.payload, expected: oracleInvalidPayload(m.payload), what: m.what })),
      },
    );
  });
  const cases = fc.sample(arb, { numRuns: runs, seed });
  const connections = await Promise.all(world.devices.map((d) => world.connect(d.id, d.secret)));
  const reasonsBefore = new Map<string, number>();
  const expectedReasons = new Map<string, number>();
  for (const c of cases) if (c.expected !== 'stored') expectedReasons.set(c.expected, (expectedReasons.get(c.expected) ?? 0) + 1);
  for (const reason of expectedReasons.keys()) reasonsBefore.set(reason, world.refusedBy(reason));
  const before = world.handled();
  try {
    await Promise.all(
      cases.map((c) => {
        const { client } = connections[ids.indexOf(c.event.deviceId)]!;
        return client.publishAsync(`coffee/v1/${c.event.deviceId}/evt/${c.event.kind}`, c.payload, { qos: 1 });
      }),
    );
    await world.handledReaches(before + cases.length);
  } finally {
    await Promise.all(connections.map((c) => c.client.endAsync(true)));
  }
  const onDisk = new Set(world.regions.flatMap((r) => readRegionStore(world.dataDir, r).events.map((e) => e.id)));
  for (const c of cases) {
    const stored = onDisk.has(c.event.id);
    const verdict = c.expected === 'stored' ? (stored ? 'ok' : 'wrongly_refused') : stored ? 'wrongly_accepted' : 'ok';
    record(tally, stored, verdict, () => `${c.what}: expected ${c.expected}`);
  }
  for (const [reason, count] of expectedReasons) {
    const seen = world.refusedBy(reason) - reasonsBefore.get(reason)!;
    if (seen !== count) mismatch(tally, 'wrong_reason', Math.abs(seen - count), `server counted ${seen} refusals for ${reason}, the oracle expected ${count}`);
  }
  return tally;
}
