import type { EventBody, Recipe } from '../schema/events.ts';
import type { Market } from './markets.ts';
import { RECIPE_SPECS } from './recipes.ts';
import { chance, randomString, weighted, type Rng } from './random.ts';
import type { PaymentMethod, UsageProfile } from './usage-profiles.ts';

type PaymentBody = EventBody<'payment'>;

const DECLINE_PROBABILITY = 0.025;
/** Office subscriptions are subsidised: staff pay a share of the list price. */
const SUBSCRIPTION_SHARE = 0.4;

/**
 * A payment processor token: opaque, never derived from a card number. 12 letters and 8 of any kind
 * keep it within the contract's form (16-32 characters, at most 8 digits) by construction.
 */
export const paymentToken = (rng: Rng): string => `tok_${randomString(rng, 12, 'letters')}${randomString(rng, 8)}`;

export function priceOf(market: Market, recipe: Recipe, method: PaymentMethod): number {
  const base = RECIPE_SPECS[recipe].priceMinor * market.priceFactor * (method === 'subscription' ? SUBSCRIPTION_SHARE : 1);
  return Math.max(market.priceStepMinor, Math.round(base / market.priceStepMinor) * market.priceStepMinor);
}

/**
 * The payment for one drink, or null when the profile does not charge. A subscription reuses the
 * machine's standing token; card and mobile payments get a fresh token per transaction.
 */
export function paymentFor(rng: Rng, profile: UsageProfile, market: Market, recipe: Recipe, subscriptionToken: string): PaymentBody | null {
  if (Object.keys(profile.payment).length === 0) return null;
  const method = weighted(rng, profile.payment);
  const declined = method !== 'subscription' && chance(rng, DECLINE_PROBABILITY);
  return {
    token: method === 'subscription' ? subscriptionToken : paymentToken(rng),
    amountMinor: priceOf(market, recipe, method),
    currency: market.currency,
    method,
    status: declined ? 'declined' : 'captured',
  };
}
