import type { ConsentRecord } from '../schema/consent.ts';
import { CONSENT_CATEGORY_OF_KIND, type EventBody, type EventKind } from '../schema/events.ts';
import { limitLocation } from '../schema/location.ts';

export type SuppressReason = 'no_consent_record' | 'not_consented';

export type EdgeDecision<K extends EventKind> = { publish: true; body: EventBody<K> } | { publish: false; reason: SuppressReason };

/**
 * What compliant firmware may send: nothing before it holds a consent record, nothing of a category
 * the owner did not consent to, and a location no more precise than allowed.
 */
export function decideAtEdge<K extends EventKind>(kind: K, body: EventBody<K>, consent: ConsentRecord | null): EdgeDecision<K> {
  if (consent === null) return { publish: false, reason: 'no_consent_record' };
  const category = CONSENT_CATEGORY_OF_KIND[kind];
  if (category === 'location') {
    const limited = limitLocation(body as EventBody<'location'>, consent.categories.location);
    return limited === null ? { publish: false, reason: 'not_consented' } : { publish: true, body: limited as EventBody<K> };
  }
  return consent.categories[category] ? { publish: true, body } : { publish: false, reason: 'not_consented' };
}

/** A newer record replaces the held one; a stale, foreign or repeated one is ignored. */
export function acceptConsent(held: ConsentRecord | null, incoming: ConsentRecord, deviceId: string): boolean {
  return incoming.deviceId === deviceId && (held === null || incoming.version > held.version);
}
