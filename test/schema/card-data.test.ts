import { describe, expect, it } from 'vitest';
import { PAN_MAX_GAP, panLike, panLikePaths } from '../../schema/card-data.ts';
import { cardDataPaths, EVENT_KINDS, eventEnvelopeSchema, paymentBodySchema } from '../../schema/events.ts';
import { paymentToken } from '../../firmware-sim/payments.ts';
import { createRng } from '../../firmware-sim/random.ts';
import { validEvents } from './samples.ts';

const PAN = '4111111111111111';
const spread = (digits: string, between: string): string => [...digits].join(between);
const grouped = (digits: string, sep: string): string => digits.match(/.{1,4}/g)!.join(sep);
const toScript = (digits: string, zero: number): string => [...digits].map((d) => String.fromCodePoint(zero + Number(d))).join('');

/** Card numbers as a leaky firmware or a careless integration might disguise them. */
const disguises: [string, string][] = [
  ['plain', PAN],
  ['spaces', grouped(PAN, ' ')],
  ['dashes', grouped(PAN, '-')],
  ['dots', grouped(PAN, '.')],
  ['slashes', grouped(PAN, '/')],
  ['underscores', grouped(PAN, '_')],
  ['spaced dashes', grouped(PAN, ' - ')],
  ['tabs and newlines', grouped(PAN, '\t\n  ')],
  ['a space between every digit', spread(PAN, ' ')],
  ['a letter between every digit', [...PAN].map((d, i) => d + 'abcdefghijklmnop'[i]).join('')],
  ['letters between the groups', grouped(PAN, 'xy')],
  ['words around it', `card ${grouped(PAN, ' ')} exp 12/29`],
  ['inside a token', `tok_${PAN}`],
  ['inside a token, mixed with letters', `tok_A${grouped(PAN, 'b')}`],
  ['full-width digits', toScript(PAN, 0xff10)],
  ['Arabic-Indic digits', toScript(PAN, 0x0660)],
  ['Devanagari digits', toScript(PAN, 0x0966)],
  ['mathematical bold digits', toScript(PAN, 0x1d7ce)],
  ['circled digits', [...PAN].map((d) => (d === '0' ? '⓪' : String.fromCodePoint(0x2460 + Number(d) - 1))).join('')],
  ['zero-width spaces between digits', spread(PAN, '\u200b\u200b\u200b\u200b\u200b\u200b')],
  ['combining marks on every digit', `${spread(PAN, '\u0332')}\u0332`],
  ['bidi marks', spread(PAN, '\u200e\u202e')],
  ['Luhn-invalid', '4111111111111112'],
  ['12 digits (the shortest PAN)', '411111111111'],
  ['19 digits (the longest PAN)', '4111111111111111111'],
  ['an Amex layout', '3782 822463 10005'],
  ['JSON-escaped inside a string', JSON.parse(`"${grouped(PAN, '\\u002d')}"`) as string],
];

const harmless: [string, string][] = [
  ['a recipe', 'flat_white'],
  ['a currency', 'EUR'],
  ['11 digits', '41111111111'],
  ['a phone number with 10 digits', '+1 555 0100 99'],
  ['digits too far apart', `4111${'x'.repeat(PAN_MAX_GAP + 1)}1111${'x'.repeat(PAN_MAX_GAP + 1)}1111${'x'.repeat(PAN_MAX_GAP + 1)}1111`],
  ['a token of the contract', 'tok_AbCdEfGhIjKl12345678'],
  ['empty', ''],
];

describe('card numbers in disguise (schema/card-data.ts)', () => {
  it.each(disguises)('finds one written with %s', (_how, text) => {
    expect(panLike(text)).toBe(true);
  });

  it.each(harmless)('leaves %s alone', (_what, text) => {
    expect(panLike(text)).toBe(false);
  });

  it('walks every string of a value at any depth, except the paths exempted', () => {
    const value = { a: 'fine', b: [{ c: grouped(PAN, ' ') }, 'ok', 3], d: { e: { f: toScript(PAN, 0xff10) } }, id: PAN };
    expect(panLikePaths(value, (path) => path.join('.') === 'id')).toEqual([
      ['b', 0, 'c'],
      ['d', 'e', 'f'],
    ]);
  });
});

describe('every string field of every event is checked for card data', () => {
  /** Every string-valued path of a sample event. */
  const stringPaths = (value: unknown, path: (string | number)[] = []): (string | number)[][] =>
    typeof value === 'string'
      ? [path]
      : typeof value === 'object' && value !== null
        ? Object.entries(value).flatMap(([k, v]) => stringPaths(v, [...path, k]))
        : [];
  const setAt = (target: Record<string, unknown>, path: (string | number)[], to: string): void => {
    let at: Record<string, unknown> = target;
    for (const key of path.slice(0, -1)) at = at[key] as Record<string, unknown>;
    at[path.at(-1)!] = to;
  };
  const exempt = new Set(['id', 'ts', 'deviceId']);

  it.each(EVENT_KINDS)('%s: each free string field is found and refused; only id, ts and deviceId (fixed grammars) are not scanned', (kind) => {
    for (const path of stringPaths(validEvents[kind])) {
      for (const [, disguise] of disguises) {
        const event = structuredClone(validEvents[kind]) as unknown as Record<string, unknown>;
        setAt(event, path, disguise);
        const found = cardDataPaths(event);
        const what = `${path.join('.')} = ${JSON.stringify(disguise)}`;
        // The device id is the registry's (matched against the topic and the directory), not the
        // device's to choose; its grammar admits digits, so only the registry keeps card numbers out.
        if (path.length === 1 && exempt.has(String(path[0]))) {
          expect(found, what).toEqual([]);
          continue;
        }
        expect(found, what).toEqual([path]);
        expect(eventEnvelopeSchema.safeParse(event).success, what).toBe(false);
      }
    }
  });

  it('a valid event passes, and the issue names the field when only the card check objects', () => {
    for (const kind of EVENT_KINDS) expect(cardDataPaths(validEvents[kind])).toEqual([]);
    // A field that would admit free text (none does in v1): the check still names it.
    expect(cardDataPaths({ ...validEvents.fault, body: { ...validEvents.fault.body, note: `see ${grouped(PAN, '-')}` } })).toEqual([['body', 'note']]);
  });
});

describe('payment tokens', () => {
  const token = (t: string): boolean => paymentBodySchema.safeParse({ ...validEvents.payment.body, token: t }).success;

  it('are tok_ and 16-32 base62 characters with at most 8 digits; everything else is refused', () => {
    expect(token('tok_AbCdEfGhIjKlMnOp')).toBe(true);
    expect(token(`tok_${'a'.repeat(32)}`)).toBe(true);
    expect(token('tok_AbCdEfGh12345678')).toBe(true);
    expect(token('tok_AbCdEfGh123456789')).toBe(false); // 9 digits
    expect(token('tok_a1b2c3d4e5f6g7h8i9')).toBe(false); // 9 digits among letters
    expect(token(`tok_${'a'.repeat(15)}`)).toBe(false);
    expect(token(`tok_${'a'.repeat(33)}`)).toBe(false);
    expect(token('tok_AbCdEfGh-IjKlMnOp')).toBe(false);
    expect(token('TOK_AbCdEfGhIjKlMnOp')).toBe(false);
    expect(token('tok_ＡｂＣｄＥｆＧｈＩｊＫｌＭｎＯｐ')).toBe(false);
    for (const [, disguise] of disguises) expect(token(disguise)).toBe(false);
  });

  it('made by the simulator are always valid (100,000 of them, seeded)', () => {
    const rng = createRng(20261201);
    for (let i = 0; i < 100_000; i++) {
      const t = paymentToken(rng);
      if (!token(t) || panLike(t)) throw new Error(`the simulator made an invalid token: ${t}`);
    }
  });
});
