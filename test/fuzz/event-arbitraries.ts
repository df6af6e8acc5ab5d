/**
 * fast-check generators of valid events, built from the contract's rules as README.md states them
 * (ranges restated here, not read from the zod schemas under test), and of invalid mutations of them
 * that are invalid by construction.
 */
import fc from 'fast-check';
import { EVENT_KINDS, FAULT_CODES, MACHINE_PHASES, RECIPES, type EventKind } from '../../schema/events.ts';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type Envelope = { [key: string]: Json } & { deviceId: string; kind: EventKind; ts: string; id: string; body: { [key: string]: Json } };

interface NumberRule {
  min: number;
  max: number;
  int: boolean;
  /** `positive()`: the minimum itself is excluded. */
  exclusiveMin?: boolean;
}
type FieldRule = NumberRule | { values: readonly string[] } | { pattern: 'token' | 'currency' } | 'boolean';

const n = (min: number, max: number, int = false): NumberRule => ({ min, max, int });
/** The body fields of each kind with their documented ranges and value sets. */
export const BODY_RULES: Record<EventKind, Record<string, FieldRule>> = {
  brew: {
    recipe: { values: RECIPES },
    doseG: n(0, 30),
    waterMl: n(0, 600),
    milkMl: n(0, 400),
    waterTempC: n(60, 100),
    pressureBar: n(0, 20),
    durationMs: n(0, 600_000, true),
    outcome: { values: ['ok', 'aborted'] },
  },
  location: {
    precision: { values: ['coarse', 'exact'] },
    lat: n(-90, 90),
    lon: n(-180, 180),
    accuracyM: { min: 0, max: 1_000_000, int: false, exclusiveMin: true },
  },
  payment: {
    token: { pattern: 'token' },
    amountMinor: n(0, 10_000_000, true),
    currency: { pattern: 'currency' },
    method: { values: ['card', 'mobile', 'subscription'] },
    status: { values: ['authorized', 'captured', 'declined', 'refunded'] },
  },
  status: {
    phase: { values: MACHINE_PHASES },
    waterTankMl: n(0, 5_000),
    beansG: n(0, 2_000),
    milkMl: n(0, 3_000),
    groundsBinCount: n(0, 100, true),
    cupsUntilDescale: n(0, 10_000, true),
    boilerTempC: n(-20, 160),
  },
  fault: { code: { values: FAULT_CODES }, severity: { values: ['warning', 'error'] }, cleared: 'boolean' },
};
const ENVELOPE_NUMBERS: Record<string, NumberRule> = { seq: n(0, Number.MAX_SAFE_INTEGER, true), consentVersion: n(0, Number.MAX_SAFE_INTEGER, true) };
const ENVELOPE_KEYS = ['v', 'id', 'deviceId', 'ts', 'seq', 'kind', 'consentVersion', 'body'];

const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
/** README: tok_ and 16-32 letters or digits, at most 8 of them digits (so no card number fits in one). */
const TOKEN_FORM = /^tok_[A-Za-z0-9]{16,32}$/;
const tokenDigits = (t: string): number => t.replace(/[^0-9]/g, '').length;
const token = fc
  .array(fc.constantFrom(...ALNUM), { minLength: 16, maxLength: 32 })
  .map((chars) => `tok_${chars.join('')}`)
  .filter((t) => tokenDigits(t) <= 8);
const currency = fc.array(fc.constantFrom(...'ABCDEFGHIJKLMNOPQRSTUVWXYZ'), { minLength: 3, maxLength: 3 }).map((c) => c.join(''));

function numberIn(rule: NumberRule): fc.Arbitrary<number> {
  if (rule.int) return fc.integer({ min: rule.min, max: rule.max });
  const min = rule.exclusiveMin ? Number.MIN_VALUE : rule.min;
  return fc.oneof(fc.double({ min, max: rule.max, noNaN: true }), fc.constantFrom(min, rule.max));
}

function fieldArb(rule: FieldRule): fc.Arbitrary<Json> {
  if (rule === 'boolean') return fc.boolean();
  if ('values' in rule) return fc.constantFrom(...rule.values);
  if ('pattern' in rule) return rule.pattern === 'token' ? token : currency;
  return numberIn(rule);
}

/** A UUIDv7 (version nibble 7, variant 10xx) for a time in milliseconds. */
export const uuidv7 = (ms: fc.Arbitrary<number>): fc.Arbitrary<string> =>
  fc.tuple(ms, fc.uint8Array({ minLength: 10, maxLength: 10 })).map(([time, rand]) => uuidOf(time, rand, 7));

function uuidOf(time: number, rand: Uint8Array, version: number): string {
  const bytes = Buffer.alloc(16);
  bytes.writeUIntBE(time, 0, 6);
  Buffer.from(rand).copy(bytes, 6);
  bytes[6] = (bytes[6]! & 0x0f) | (version << 4);
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  const h = bytes.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** ISO 8601 with `Z` or a numeric offset, with or without milliseconds: all forms devices may send. */
export const isoTimestamp = (ms: fc.Arbitrary<number>): fc.Arbitrary<string> =>
  fc.tuple(ms, fc.constantFrom(0, 60, -300, 330, 840, -720), fc.boolean()).map(([time, offsetMin, withMs]) => {
    let text = new Date(time + offsetMin * 60_000).toISOString();
    if (!withMs) text = text.replace(/\.\d{3}Z$/, 'Z');
    if (offsetMin === 0) return text;
    const sign = offsetMin > 0 ? '+' : '-';
    const abs = Math.abs(offsetMin);
    return text.replace(/Z$/, `${sign}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`);
  });

export const bodyArb = (kind: EventKind): fc.Arbitrary<{ [key: string]: Json }> =>
  fc.record(Object.fromEntries(Object.entries(BODY_RULES[kind]).map(([key, rule]) => [key, fieldArb(rule)])));

/** A valid envelope from one of `deviceIds`, its device clock anywhere in [tsMin, tsMax]. */
export function validEventArb(deviceIds: readonly string[], tsMin: number, tsMax: number): fc.Arbitrary<Envelope> {
  const time = fc.integer({ min: tsMin, max: tsMax });
  return fc.record({ deviceId: fc.constantFrom(...deviceIds), kind: fc.constantFrom(...EVENT_KINDS) }).chain(({ deviceId, kind }) =>
    fc.record({
      v: fc.constant(1),
      id: uuidv7(time),
      deviceId: fc.constant(deviceId),
      ts: isoTimestamp(time),
      seq: numberIn(ENVELOPE_NUMBERS.seq!),
      kind: fc.constant(kind),
      consentVersion: numberIn(ENVELOPE_NUMBERS.consentVersion!),
      body: bodyArb(kind),
    }),
  );
}

/** A mutated payload that the contract refuses, and what was done (for the report). */
export interface Mutation {
  what: string;
  payload: Buffer;
}

const json = (value: unknown): Buffer => Buffer.from(JSON.stringify(value));
const notIn = (words: readonly string[]): fc.Arbitrary<string> => fc.string({ maxLength: 20 }).filter((s) => !words.includes(s));
const wrongTypeFor = (rule: FieldRule | 'string'): fc.Arbitrary<Json> => {
  const isString = rule === 'string' || (typeof rule === 'object' && !('min' in rule));
  const others: fc.Arbitrary<Json>[] = [fc.constant(null), fc.constant([]), fc.constant({}), fc.constant([1, 2])];
  if (isString) others.push(fc.integer(), fc.boolean());
  else if (rule === 'boolean') others.push(fc.integer(), fc.constant('true'));
  else others.push(fc.constant('1'), fc.boolean());
  return fc.oneof(...others);
};

function outOfRange(rule: NumberRule): fc.Arbitrary<number> {
  const delta = fc.double({ min: 1e-6, max: 1e6, noNaN: true });
  const options: fc.Arbitrary<number>[] = [
    delta.map((d) => rule.min - d).filter((v) => v < rule.min),
    delta.map((d) => rule.max + Math.max(d, rule.max * 1e-12)).filter((v) => v > rule.max),
    fc.constantFrom(1e308, -1e308, 2 ** 64, -(2 ** 64)).filter((v) => v < rule.min || v > rule.max),
  ];
  if (rule.exclusiveMin) options.push(fc.constant(rule.min));
  if (rule.int) options.push(fc.integer({ min: Math.max(rule.min, -1e6), max: Math.min(rule.max - 1, 1e6) }).map((i) => i + 0.5));
  return fc.oneof(...options);
}

/** One guaranteed-invalid change of a valid envelope. Each branch names the rule it breaks. */
export function mutationArb(event: Envelope): fc.Arbitrary<Mutation> {
  const body = event.body;
  const bodyRules = BODY_RULES[event.kind];
  const bodyKeys = Object.keys(bodyRules);
  const withBody = (key: string, value: Json): Buffer => json({ ...event, body: { ...body, [key]: value } });
  const numericBody = Object.entries(bodyRules).filter((e): e is [string, NumberRule] => typeof e[1] === 'object' && 'min' in e[1]);
  const enumBody = Object.entries(bodyRules).filter((e): e is [string, { values: readonly string[] }] => typeof e[1] === 'object' && 'values' in e[1]);
  const m = (what: string, payload: fc.Arbitrary<Buffer>): fc.Arbitrary<Mutation> => payload.map((p) => ({ what, payload: p }));
  const branches: fc.Arbitrary<Mutation>[] = [
    m(
      'missing envelope field',
      fc.constantFrom(...ENVELOPE_KEYS).map((k) => json(Object.fromEntries(Object.entries(event).filter(([key]) => key !== k)))),
    ),
    m(
      'missing body field',
      fc.constantFrom(...bodyKeys).map((k) => json({ ...event, body: Object.fromEntries(Object.entries(body).filter(([key]) => key !== k)) })),
    ),
    m(
      'extra envelope field (personal data)',
      fc.tuple(fc.constantFrom('ownerName', 'email', 'phone', 'cardNumber', 'address'), fc.string()).map(([k, v]) => json({ ...event, [k]: v })),
    ),
    m(
      'extra envelope field',
      fc
        .tuple(
          notIn(ENVELOPE_KEYS).filter((k) => k !== '__proto__'),
          fc.jsonValue(),
        )
        .map(([k, v]) => json({ ...event, [k]: v })),
    ),
    m(
      'extra body field',
      fc
        .tuple(
          notIn(bodyKeys).filter((k) => k !== '__proto__'),
          fc.jsonValue(),
        )
        .map(([k, v]) => withBody(k, v as Json)),
    ),
    m(
      'wrong envelope version',
      fc
        .oneof(
          fc.integer().filter((v) => v !== 1),
          fc.constant('1'),
        )
        .map((v) => json({ ...event, v })),
    ),
    m(
      'event id not a UUIDv7',
      fc
        .oneof(
          fc
            .tuple(fc.integer({ min: 0, max: 2 ** 48 - 1 }), fc.uint8Array({ minLength: 10, maxLength: 10 }), fc.constantFrom(1, 4, 6, 8))
            .map(([t, r, v]) => uuidOf(t, r, v)),
          fc.string({ maxLength: 40 }),
        )
        .map((id) => json({ ...event, id })),
    ),
    m(
      'device id outside the grammar',
      fc
        .oneof(fc.constantFrom('svc-ingest', 'CM-UPPER', 'cm/slash', 'cm+plus', 'cm#hash', 'ab', ''), fc.string())
        .filter((s) => !/^(?!svc-)[a-z0-9][a-z0-9-]{2,63}$/.test(s))
        .map((deviceId) => json({ ...event, deviceId })),
    ),
    m(
      'timestamp not ISO 8601 with offset',
      fc
        .oneof(
          fc.constantFrom('2026-11-28T07:00:00', '2026-11-28', 'yesterday', '', '2026-13-01T00:00:00Z', '2026-11-28 07:00:00Z'),
          fc.integer().map((i) => i as Json),
        )
        .map((ts) => json({ ...event, ts })),
    ),
    m(
      'sequence number out of range',
      outOfRange(ENVELOPE_NUMBERS.seq!).map((seq) => json({ ...event, seq })),
    ),
    m(
      'consent version out of range',
      outOfRange(ENVELOPE_NUMBERS.consentVersion!).map((consentVersion) => json({ ...event, consentVersion })),
    ),
    m(
      'unknown kind',
      notIn(EVENT_KINDS).map((kind) => json({ ...event, kind })),
    ),
    m(
      'body of another kind',
      fc
        .constantFrom(...EVENT_KINDS.filter((k) => k !== event.kind))
        .chain((k) => bodyArb(k))
        .map((b) => json({ ...event, body: b })),
    ),
    m('envelope not an object', fc.oneof(fc.constant([event] as Json), fc.string(), fc.double(), fc.constant(null)).map(json)),
    m(
      'body not an object',
      wrongTypeFor('string').map((b) => json({ ...event, body: b })),
    ),
    m(
      'body field of the wrong type',
      fc.constantFrom(...bodyKeys).chain((k) => wrongTypeFor(bodyRules[k]!).map((v) => withBody(k, v))),
    ),
    m(
      'deeply nested JSON',
      fc.integer({ min: 50, max: 5_000 }).map((depth) => {
        const text = JSON.stringify(event);
        return Buffer.from(text.replace('"body":{', `"nested":${'['.repeat(depth)}${']'.repeat(depth)},"body":{`));
      }),
    ),
  ];
  if (numericBody.length > 0) {
    branches.push(
      m(
        'body number out of range',
        fc.constantFrom(...numericBody).chain(([k, rule]) => outOfRange(rule).map((v) => withBody(k, v))),
      ),
    );
    // JSON.parse turns these into ±Infinity or a float far beyond every documented body range.
    branches.push(
      m(
        'huge number literal',
        fc
          .tuple(fc.constantFrom(...numericBody.map(([k]) => k)), fc.constantFrom('1e400', '-1e400', '9'.repeat(400), `-${'9'.repeat(400)}`))
          .map(([k, literal]) => Buffer.from(JSON.stringify({ ...event, body: { ...body, [k]: '__HUGE__' } }).replace('"__HUGE__"', literal))),
      ),
    );
  }
  if (enumBody.length > 0) {
    branches.push(
      m(
        'body value outside its set',
        fc.constantFrom(...enumBody).chain(([k, rule]) => notIn(rule.values).map((v) => withBody(k, v))),
      ),
    );
  }
  if (event.kind === 'payment') {
    branches.push(
      m(
        'card number in the token',
        fc
          .tuple(fc.integer({ min: 12, max: 19 }), fc.string({ unit: fc.constantFrom(...'abcXYZ'), maxLength: 8 }))
          .map(([digits, letters]) => withBody('token', `tok_${letters}${'4'.repeat(digits)}`)),
      ),
    );
    branches.push(
      m(
        'token without its form',
        fc
          .oneof(
            fc.constantFrom(
              '4111111111111111',
              'tok_short',
              'tok_has space1aaaaaaaa',
              'TOK_abcdefghijklmnop',
              `tok_${'a'.repeat(33)}`,
              'tok_abcdefgh123456789',
            ),
            fc.string({ maxLength: 70 }).filter((s) => !TOKEN_FORM.test(s) || tokenDigits(s) > 8),
          )
          .map((t) => withBody('token', t)),
      ),
    );
    // A card number split by separators or strewn among letters, inside the token.
    branches.push(
      m(
        'card number in disguise in the token',
        fc
          .tuple(fc.constantFrom(' ', '-', '.', '/', 'x', '\u200b', ''), fc.constantFrom('4111111111111111', '5500005555555559', '378282246310005'))
          .map(([sep, pan]) => withBody('token', `tok_${[...pan].join(sep)}`)),
      ),
    );
    branches.push(
      m(
        'currency not ISO 4217 form',
        fc
          .oneof(
            fc.constantFrom('eur', 'EU', 'EURO', 'E1R'),
            fc.string({ maxLength: 5 }).filter((s) => !/^[A-Z]{3}$/.test(s)),
          )
          .map((c) => withBody('currency', c)),
      ),
    );
  }
  return fc.oneof(...branches);
}

/** Bytes that are not a JSON document, or not UTF-8: truncations, random bytes, invalid sequences. */
export function rawBytesArb(event: Envelope): fc.Arbitrary<Mutation> {
  const text = JSON.stringify(event);
  return fc.oneof(
    fc.integer({ min: 0, max: text.length - 1 }).map((cut) => ({ what: 'truncated JSON', payload: Buffer.from(text.slice(0, cut)) })),
    fc.uint8Array({ maxLength: 300 }).map((bytes) => ({ what: 'random bytes', payload: Buffer.from(bytes) })),
    fc
      .tuple(fc.integer({ min: 1, max: text.length - 2 }), fc.constantFrom([0xff], [0xc3], [0xed, 0xa0, 0x80], [0xf8, 0x88, 0x80, 0x80, 0x80], [0xc0, 0xaf]))
      .map(([at, bad]) => ({
        what: 'malformed UTF-8',
        payload: Buffer.concat([Buffer.from(text.slice(0, at)), Buffer.from(bad), Buffer.from(text.slice(at))]),
      })),
    fc.jsonValue().map((v) => ({ what: 'arbitrary JSON value', payload: json(v) })),
  );
}
