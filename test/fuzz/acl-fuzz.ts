import fc from 'fast-check';
import { mayPublish, maySubscribe, type AclSubject } from '../../broker/acl-policy.ts';
import { EVENT_KINDS } from '../../schema/events.ts';
import { oracleMayPublish, oracleMaySubscribe, type Who } from './oracle.ts';
import { newGroup, record, type GroupTally } from './tally.ts';

const ALICE = 'cm-alice0001';
const BOB = 'cm-bob00002';

/** Topic levels near the grammar (so many inputs are allowed ones) mixed with wildcards and noise. */
const level = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.constantFrom(
      'coffee',
      'v1',
      ALICE,
      BOB,
      'evt',
      'state',
      'consent',
      'cmd',
      'cmd-result',
      ...EVENT_KINDS,
      'reboot',
      'set-mode',
      '$brewtel',
      'credentials-revoked',
    ),
  },
  { weight: 2, arbitrary: fc.constantFrom('+', '#', '', '$SYS', '$share', 'g', 'svc-ingest', 'v2', 'COFFEE', 'Brew', 'cm-alice0001\u0000', 'a/b') },
  { weight: 1, arbitrary: fc.string({ maxLength: 10 }) },
);
const shaped = fc
  .tuple(fc.constantFrom(ALICE, BOB, '+', '#', 'svc-x1', 'ab'), fc.constantFrom(...EVENT_KINDS, '+', '#', 'reboot'))
  .chain(([id, leaf]) =>
    fc.constantFrom(
      `coffee/v1/${id}/evt/${leaf}`,
      `coffee/v1/${id}/state`,
      `coffee/v1/${id}/consent`,
      `coffee/v1/${id}/cmd/${leaf}`,
      `coffee/v1/${id}/cmd-result/${leaf}`,
      `coffee/v1/${id}/cmd/#`,
      `coffee/v1/${id}/#`,
      `$share/g/coffee/v1/${id}/evt/${leaf}`,
      '$brewtel/v1/credentials-revoked',
    ),
  );
export const topicOrFilterArb = fc.oneof(
  { weight: 8, arbitrary: shaped },
  { weight: 3, arbitrary: fc.array(level, { minLength: 1, maxLength: 7 }).map((l) => l.join('/')) },
  { weight: 1, arbitrary: fc.string({ maxLength: 60 }) },
);

const WHO: { who: Who; subject: AclSubject }[] = [
  { who: { kind: 'device', deviceId: ALICE }, subject: { kind: 'device', deviceId: ALICE } },
  { who: { kind: 'device', deviceId: BOB }, subject: { kind: 'device', deviceId: BOB } },
  { who: { kind: 'ingest' }, subject: { kind: 'service', role: 'ingest' } },
];

/** broker/acl-policy.ts against the oracle's reading of the README rules, for publish and subscribe. */
export function fuzzAcl(runs: number, seed: number): GroupTally[] {
  const publish = newGroup('acl publish (pure)');
  const subscribe = newGroup('acl subscribe (pure)');
  // Publishes also vary the retain flag and an empty payload (which, retained, clears a message).
  const cases = fc.sample(fc.tuple(fc.nat(WHO.length - 1), topicOrFilterArb, fc.boolean(), fc.boolean(), fc.boolean()), { numRuns: runs, seed });
  for (const [i, topic, isPublish, retain, empty] of cases) {
    const { who, subject } = WHO[i]!;
    const tally = isPublish ? publish : subscribe;
    const expected = isPublish ? oracleMayPublish(who, topic, retain, empty) : oracleMaySubscribe(who, topic);
    let allowed: boolean;
    try {
      allowed = isPublish ? mayPublish(subject, topic, { retain, empty }) : maySubscribe(subject, topic);
    } catch {
      record(tally, false, 'crash', () => `${JSON.stringify(topic)} threw`);
      continue;
    }
    const verdict = allowed === expected ? 'ok' : allowed ? 'wrongly_accepted' : 'wrongly_refused';
    record(
      tally,
      allowed,
      verdict,
      () =>
        `${who.kind === 'device' ? who.deviceId : 'ingest'} ${isPublish ? `publish${retain ? ' retained' : ''}${empty ? ' empty' : ''}` : 'subscribe'} ${JSON.stringify(topic)}`,
    );
  }
  return [publish, subscribe];
}
