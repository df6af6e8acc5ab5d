import type { EventEnvelope, EventKind } from '../../schema/events.ts';

/** One valid event of each kind, for tests that need a well-formed starting point. */
const base = {
  v: 1 as const,
  id: '0192f3a4-5b6c-7d8e-9f01-23456789abcd',
  deviceId: 'cm-abcdefghijklmnop',
  ts: '2026-11-28T07:00:00.000Z',
  seq: 42,
  consentVersion: 3,
};

export const validEvents: { [K in EventKind]: Extract<EventEnvelope, { kind: K }> } = {
  brew: {
    ...base,
    kind: 'brew',
    body: { recipe: 'cappuccino', doseG: 18, waterMl: 40, milkMl: 120, waterTempC: 92.5, pressureBar: 9, durationMs: 41_000, outcome: 'ok' },
  },
  location: { ...base, kind: 'location', body: { precision: 'exact', lat: 48.85661, lon: 2.35222, accuracyM: 25 } },
  payment: {
    ...base,
    kind: 'payment',
    body: { token: 'tok_Ab12Cd34Ef56GhIj', amountMinor: 350, currency: 'EUR', method: 'card', status: 'captured' },
  },
  status: {
    ...base,
    kind: 'status',
    body: { phase: 'idle', waterTankMl: 1200, beansG: 210, milkMl: 500, groundsBinCount: 4, cupsUntilDescale: 180, boilerTempC: 93 },
  },
  fault: { ...base, kind: 'fault', body: { code: 'water_empty', severity: 'error', cleared: false } },
};
