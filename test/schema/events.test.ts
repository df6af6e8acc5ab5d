import { describe, expect, it } from 'vitest';
import { EVENT_KINDS, eventEnvelopeSchema } from '../../schema/events.ts';
import { validEvents } from './samples.ts';

const clone = <T>(value: T): T => structuredClone(value);

describe('event envelope', () => {
  it.each(EVENT_KINDS)('accepts a valid %s event and infers its kind', (kind) => {
    const parsed = eventEnvelopeSchema.parse(validEvents[kind]);
    expect(parsed.kind).toBe(kind);
  });

  const invalid: [string, (e: Record<string, unknown>) => void][] = [
    [
      'unknown kind',
      (e) => {
        e.kind = 'coffee';
      },
    ],
    [
      'wrong envelope version',
      (e) => {
        e.v = 2;
      },
    ],
    [
      'event id that is not a UUIDv7',
      (e) => {
        e.id = '123e4567-e89b-42d3-a456-426614174000';
      },
    ],
    [
      'device id with a topic wildcard',
      (e) => {
        e.deviceId = 'cm-+';
      },
    ],
    [
      'timestamp without zone',
      (e) => {
        e.ts = '2026-11-28T07:00:00';
      },
    ],
    [
      'negative sequence number',
      (e) => {
        e.seq = -1;
      },
    ],
    [
      'fractional consent version',
      (e) => {
        e.consentVersion = 1.5;
      },
    ],
    [
      'an extra top-level field (owner name)',
      (e) => {
        e.ownerName = 'Jane Doe';
      },
    ],
    [
      'missing body',
      (e) => {
        delete e.body;
      },
    ],
  ];
  it.each(invalid)('refuses %s', (_name, mutate) => {
    const event = clone(validEvents.brew) as unknown as Record<string, unknown>;
    mutate(event);
    expect(eventEnvelopeSchema.safeParse(event).success).toBe(false);
  });

  it('refuses a body that belongs to another kind', () => {
    const event = { ...clone(validEvents.brew), body: validEvents.status.body };
    expect(eventEnvelopeSchema.safeParse(event).success).toBe(false);
  });

  describe('per-kind bodies', () => {
    const cases: [string, keyof typeof validEvents, Record<string, unknown>][] = [
      ['brew: unknown recipe', 'brew', { recipe: 'irish_coffee' }],
      ['brew: water at boiling point and above', 'brew', { waterTempC: 101 }],
      ['brew: fractional duration', 'brew', { durationMs: 1.5 }],
      ['location: precision none is never sent', 'location', { precision: 'none' }],
      ['location: latitude out of range', 'location', { lat: 91 }],
      ['location: a city name rides along', 'location', { city: 'Paris' }],
      ['payment: a card number instead of a token', 'payment', { token: '4111111111111111' }],
      ['payment: a card number inside a token', 'payment', { token: 'tok_4111111111111111' }],
      ['payment: a card number next to the token', 'payment', { pan: '4111111111111111' }],
      ['payment: amount in major units', 'payment', { amountMinor: 3.5 }],
      ['payment: lowercase currency', 'payment', { currency: 'eur' }],
      ['payment: cardholder name', 'payment', { cardholder: 'Jane Doe' }],
      ['status: unknown phase', 'status', { phase: 'sleeping' }],
      ['status: negative water', 'status', { waterTankMl: -1 }],
      ['fault: free-text code', 'fault', { code: 'machine on fire' }],
      ['fault: unknown severity', 'fault', { severity: 'fatal' }],
    ];
    it.each(cases)('refuses %s', (_name, kind, patch) => {
      const event = clone(validEvents[kind]);
      const broken = { ...event, body: { ...event.body, ...patch } };
      expect(eventEnvelopeSchema.safeParse(broken).success).toBe(false);
    });
  });
});
