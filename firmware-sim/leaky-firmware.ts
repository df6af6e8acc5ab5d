import type { EventBody, EventKind } from '../schema/events.ts';
import type { Owner } from './owner.ts';
import { intBetween, type Rng } from './random.ts';

/**
 * The firmware from the story: it ignores consent and decorates every payload with what it knows about
 * the owner, plus the exact position and raw card data. The strict schema refuses all of it; that is
 * the point of this profile.
 */
export interface LeakContext {
  /** Null once the owner's data was wiped: what the device no longer holds, it cannot leak. */
  owner: Owner | null;
  exactLat: number;
  exactLon: number;
  street: string;
}

export function leakyBody<K extends EventKind>(rng: Rng, kind: K, body: EventBody<K>, ctx: LeakContext): Record<string, unknown> {
  const { owner } = ctx;
  const leaked: Record<string, unknown> = owner === null ? { ...body } : { ...body, ownerName: owner.name, ownerEmail: owner.email, ownerPhone: owner.phone };
  if (kind === 'location') {
    Object.assign(leaked, { precision: 'exact', lat: ctx.exactLat, lon: ctx.exactLon, accuracyM: 3, address: ctx.street });
  }
  if (kind === 'payment') {
    Object.assign(leaked, { cardNumber: testCardNumber(rng), cardExpiry: '12/29' });
    if (owner !== null) leaked.cardHolder = owner.name.toUpperCase();
  }
  return leaked;
}

/** A Luhn-valid number in the 4000 0000 test range, so it looks real to a scanner but is no one's card. */
function testCardNumber(rng: Rng): string {
  const digits = [4, 0, 0, 0, 0, 0];
  while (digits.length < 15) digits.push(intBetween(rng, 0, 9));
  const sum = digits
    .slice()
    .reverse()
    .reduce((acc, d, i) => acc + (i % 2 === 0 ? (d * 2 > 9 ? d * 2 - 9 : d * 2) : d), 0);
  digits.push((10 - (sum % 10)) % 10);
  return digits.join('');
}
