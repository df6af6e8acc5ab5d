import { describe, expect, it } from 'vitest';
import { consentRecordSchema, NO_CONSENT } from '../../schema/consent.ts';
import { CONSENT_CATEGORY_OF_KIND, EVENT_KINDS } from '../../schema/events.ts';
import { regionListSchema } from '../../schema/regions.ts';

describe('consent record', () => {
  const record = { deviceId: 'cm-abcdefghijklmnop', version: 1, issuedAt: '2026-11-28T07:00:00Z', categories: NO_CONSENT };

  it('accepts the privacy-by-default record', () => {
    expect(consentRecordSchema.parse(record).categories).toEqual({ usage: false, location: 'none', payment: false, diagnostics: false });
  });

  it.each([
    ['version 0', { ...record, version: 0 }],
    ['an unknown precision', { ...record, categories: { ...NO_CONSENT, location: 'street' } }],
    ['an unknown category', { ...record, categories: { ...NO_CONSENT, marketing: true } }],
    ['a missing category', { ...record, categories: { usage: true, location: 'none', payment: false } }],
  ])('refuses %s', (_name, value) => {
    expect(consentRecordSchema.safeParse(value).success).toBe(false);
  });

  it('maps every event kind to a consent category', () => {
    for (const kind of EVENT_KINDS) expect(CONSENT_CATEGORY_OF_KIND[kind]).toBeDefined();
  });
});

describe('region list', () => {
  it('refuses duplicates, empty lists and ids that are not lowercase words', () => {
    expect(regionListSchema.safeParse(['eu', 'eu']).success).toBe(false);
    expect(regionListSchema.safeParse([]).success).toBe(false);
    expect(regionListSchema.safeParse(['EU']).success).toBe(false);
    expect(regionListSchema.parse(['eu', 'us', 'cn', 'apac2'])).toHaveLength(4);
  });
});
