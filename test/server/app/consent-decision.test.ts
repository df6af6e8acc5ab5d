import { describe, expect, it } from 'vitest';
import { decide, latest, recordAt } from '../../../server/consent/decide.ts';
import { consentRow } from './helpers.ts';

const device = 'cm-abcdefghijklmnop';
const t0 = new Date('2026-11-28T07:00:00Z');
const t1 = new Date('2026-11-28T08:00:00Z');
const t2 = new Date('2026-11-28T09:00:00Z');

describe('consent decision', () => {
  const ledger = [
    consentRow(device, 1, t0, { usage: true, location: 'exact', diagnostics: true }),
    consentRow(device, 2, t1, { usage: true, location: 'coarse' }),
  ];

  it('finds the record in force at a time, and none before the first', () => {
    expect(recordAt(ledger, new Date('2026-11-28T07:30:00Z'))?.version).toBe(1);
    expect(recordAt(ledger, t1)?.version).toBe(2);
    expect(recordAt(ledger, new Date('2026-11-28T06:00:00Z'))).toBeNull();
    expect(latest(ledger)?.version).toBe(2);
  });

  it('allows what was consented then and still is, under the current version', () => {
    expect(decide({ kind: 'brew' }, ledger[0]!, ledger[1]!)).toEqual({ allowed: true, precision: 'coarse', consentVersion: 2 });
  });

  it('applies a withdrawal at once, also to events from before it', () => {
    expect(decide({ kind: 'status' }, ledger[0]!, ledger[1]!)).toEqual({ allowed: false, reason: 'not_consented' });
  });

  it('does not let a later grant cover an event from before it', () => {
    const later = consentRow(device, 3, t2, { payment: true });
    expect(decide({ kind: 'payment' }, ledger[1]!, later)).toEqual({ allowed: false, reason: 'not_consented' });
  });

  it('keeps the less revealing location precision of then and now', () => {
    expect(decide({ kind: 'location' }, ledger[0]!, ledger[1]!)).toMatchObject({ allowed: true, precision: 'coarse' });
    const exactNow = consentRow(device, 3, t2, { location: 'exact' });
    expect(decide({ kind: 'location' }, ledger[1]!, exactNow)).toMatchObject({ allowed: true, precision: 'coarse' });
    const noneNow = consentRow(device, 3, t2, { location: 'none' });
    expect(decide({ kind: 'location' }, ledger[0]!, noneNow)).toEqual({ allowed: false, reason: 'not_consented' });
  });

  it('refuses everything without any record (privacy by default)', () => {
    for (const kind of ['brew', 'location', 'payment', 'status', 'fault'] as const) {
      expect(decide({ kind }, null, null)).toEqual({ allowed: false, reason: 'not_consented' });
    }
  });
});
