import { LOCATION_PRECISION_ORDER, NO_CONSENT, type ConsentCategories, type LocationPrecision } from '../../schema/consent.ts';
import { CONSENT_CATEGORY_OF_KIND, type EventEnvelope } from '../../schema/events.ts';
import type { ConsentRow } from '../store/types.ts';

/**
 * The one consent decision of the server (ingest today, anything that stores personal data later).
 * Pure: the caller supplies the ledger; this only compares.
 */

export type ConsentDecision = { allowed: true; precision: LocationPrecision; consentVersion: number } | { allowed: false; reason: 'not_consented' };

/** The record in force at `at`: the newest one issued at or before it. Null before the first. */
export function recordAt(ledger: readonly ConsentRow[], at: Date): ConsentRow | null {
  let found: ConsentRow | null = null;
  for (const row of ledger) {
    if (row.issuedAt.getTime() <= at.getTime() && (!found || row.version > found.version)) found = row;
  }
  return found;
}

export function latest(ledger: readonly ConsentRow[]): ConsentRow | null {
  let found: ConsentRow | null = null;
  for (const row of ledger) if (!found || row.version > found.version) found = row;
  return found;
}

function lessRevealing(a: LocationPrecision, b: LocationPrecision): LocationPrecision {
  return LOCATION_PRECISION_ORDER.indexOf(a) <= LOCATION_PRECISION_ORDER.indexOf(b) ? a : b;
}

/**
 * The strictest of the consent at the event's device time and the consent now: an event is kept only
 * if it was consented when it happened AND is still consented (a withdrawal applies at once, also to
 * events still in flight or buffered on the device).
 */
export function decide(event: Pick<EventEnvelope, 'kind'>, atEventTime: ConsentRow | null, now: ConsentRow | null): ConsentDecision {
  const then: ConsentCategories = atEventTime?.categories ?? NO_CONSENT;
  const current: ConsentCategories = now?.categories ?? NO_CONSENT;
  const consentVersion = now?.version ?? 0;
  const category = CONSENT_CATEGORY_OF_KIND[event.kind];
  if (category === 'location') {
    const precision = lessRevealing(then.location, current.location);
    return precision === 'none' ? { allowed: false, reason: 'not_consented' } : { allowed: true, precision, consentVersion };
  }
  if (!then[category] || !current[category]) return { allowed: false, reason: 'not_consented' };
  return { allowed: true, precision: lessRevealing(then.location, current.location), consentVersion };
}
