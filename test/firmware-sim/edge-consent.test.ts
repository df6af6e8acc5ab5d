import { describe, expect, it } from 'vitest';
import { NO_CONSENT } from '../../schema/consent.ts';
import { eventEnvelopeSchema, type EventBody } from '../../schema/events.ts';
import { isCoarse } from '../../schema/location.ts';
import { decideAtEdge } from '../../firmware-sim/edge-consent.ts';
import { MachineModel } from '../../firmware-sim/machine-model.ts';
import { ALL_CONSENT, CollectingSink, consentFor, runMachine, HOUR, MONDAY } from './helpers.ts';

const location = (e: { body: object }): EventBody<'location'> => e.body as EventBody<'location'>;

describe('edge consent', () => {
  it('publishes nothing before a consent record arrives', () => {
    const { sink } = runMachine({ usage: 'cafe' }, 24, null);
    expect(sink.events).toHaveLength(0);
    expect(sink.suppressed.length).toBeGreaterThan(100);
    expect(new Set(sink.suppressed.map((s) => s.reason))).toEqual(new Set(['no_consent_record']));
  });

  it('publishes nothing when the owner declined everything', () => {
    const { sink } = runMachine({ usage: 'cafe' }, 24, { ...NO_CONSENT });
    expect(sink.events).toHaveLength(0);
    expect(new Set(sink.suppressed.map((s) => s.reason))).toEqual(new Set(['not_consented']));
  });

  it('sends no location without location consent', () => {
    const { sink } = runMachine({ usage: 'cafe' }, 48, { ...ALL_CONSENT, location: 'none' });
    expect(sink.ofKind('location')).toHaveLength(0);
    expect(sink.ofKind('brew').length).toBeGreaterThan(0);
    expect(sink.suppressed.filter((s) => s.kind === 'location').length).toBeGreaterThan(0);
  });

  it('sends a coarse location only when coarse is what was granted', () => {
    const coarse = runMachine({ usage: 'home' }, 48, { ...ALL_CONSENT, location: 'coarse' }).sink.ofKind('location');
    expect(coarse.length).toBeGreaterThan(0);
    for (const e of coarse) {
      expect(location(e).precision).toBe('coarse');
      expect(isCoarse(location(e))).toBe(true);
    }
    const exact = runMachine({ usage: 'home' }, 48, ALL_CONSENT).sink.ofKind('location');
    for (const e of exact) {
      expect(location(e).precision).toBe('exact');
      expect(isCoarse(location(e))).toBe(false);
    }
  });

  it('keeps each category to its consent', () => {
    const kinds = (categories: typeof ALL_CONSENT): Set<string> => new Set(runMachine({ usage: 'cafe' }, 24, categories).sink.events.map((e) => e.kind));
    expect(kinds({ ...ALL_CONSENT, usage: false })).not.toContain('brew');
    expect(kinds({ ...ALL_CONSENT, payment: false })).not.toContain('payment');
    const noDiagnostics = kinds({ ...ALL_CONSENT, diagnostics: false });
    expect(noDiagnostics).not.toContain('status');
    expect(noDiagnostics).not.toContain('fault');
    expect(noDiagnostics).toContain('brew');
  });

  it('applies newer records only, stamps their version, and reports location as soon as it may', () => {
    const deviceId = 'cm-consent-test';
    const model = new MachineModel({ deviceId, region: 'eu', fleetSeed: 1, index: 0, bootAt: MONDAY, usage: 'office' });
    const sink = new CollectingSink();
    expect(model.applyConsent(consentFor(deviceId, { ...ALL_CONSENT, location: 'none' }, 2), MONDAY)).toBe(true);
    model.advance(MONDAY + 3 * HOUR, sink);
    expect(sink.ofKind('location')).toHaveLength(0);
    expect(model.applyConsent(consentFor(deviceId, ALL_CONSENT, 1), MONDAY + 3 * HOUR)).toBe(false);
    expect(model.applyConsent(consentFor('cm-someone-else', ALL_CONSENT, 9), MONDAY + 3 * HOUR)).toBe(false);
    expect(model.applyConsent(consentFor(deviceId, { ...ALL_CONSENT, location: 'coarse' }, 3), MONDAY + 3 * HOUR)).toBe(true);
    model.advance(MONDAY + 3 * HOUR, sink);
    expect(sink.ofKind('location').map((e) => e.ts)).toEqual([new Date(MONDAY + 3 * HOUR).toISOString()]);
    model.advance(MONDAY + 10 * HOUR, sink);
    const versions = sink.events.map((e) => e.consentVersion);
    expect(versions[0]).toBe(2);
    expect(versions.at(-1)).toBe(3);
    expect(versions.every((v, i) => i === 0 || v >= versions[i - 1]!)).toBe(true);
  });

  it('never publishes the owner', () => {
    const { model, sink } = runMachine({ usage: 'cafe' }, 48);
    const wire = JSON.stringify(sink.events);
    expect(wire).not.toContain(model.owner!.name);
    expect(wire).not.toContain(model.owner!.email);
    expect(wire).not.toContain(model.owner!.phone);
  });

  it('decides per kind as a pure function', () => {
    const fix = { precision: 'exact' as const, lat: 52.520123, lon: 13.404987, accuracyM: 12 };
    expect(decideAtEdge('location', fix, null)).toEqual({ publish: false, reason: 'no_consent_record' });
    const coarse = decideAtEdge('location', fix, consentFor('cm-x1', { ...ALL_CONSENT, location: 'coarse' }));
    expect(coarse).toEqual({ publish: true, body: { precision: 'coarse', lat: 52.5, lon: 13.4, accuracyM: 10_000 } });
    expect(decideAtEdge('fault', { code: 'overheat', severity: 'error', cleared: false }, consentFor('cm-x1', NO_CONSENT)).publish).toBe(false);
  });
});

describe('leaky firmware', () => {
  const { model, sink } = runMachine({ usage: 'cafe', firmware: 'leaky' }, 24, null);

  it('ignores consent and sends the owner along with every event', () => {
    expect(sink.suppressed).toHaveLength(0);
    const kinds = new Set(sink.events.map((e) => e.kind));
    for (const kind of ['brew', 'payment', 'status', 'location']) expect(kinds).toContain(kind);
    for (const e of sink.events) {
      expect(e.body).toMatchObject({ ownerName: model.owner!.name, ownerEmail: model.owner!.email });
      expect(e.consentVersion).toBe(0);
    }
  });

  it('sends the exact spot and card details', () => {
    const loc = sink.ofKind('location')[0]!.body;
    expect(loc).toMatchObject({ precision: 'exact', lat: model.spot.lat, lon: model.spot.lon });
    expect(loc).toHaveProperty('address');
    const pay = sink.ofKind('payment')[0]!.body as { cardNumber: string };
    expect(pay.cardNumber).toMatch(/^\d{16}$/);
  });

  it('fails the strict schema on every event, so the server can refuse it', () => {
    for (const e of sink.events) expect(eventEnvelopeSchema.safeParse(e).success).toBe(false);
  });
});
