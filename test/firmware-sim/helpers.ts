import type { ConsentCategories, ConsentRecord } from '../../schema/consent.ts';
import type { EventKind } from '../../schema/events.ts';
import type { SuppressReason } from '../../firmware-sim/edge-consent.ts';
import type { OutgoingEnvelope } from '../../firmware-sim/envelope.ts';
import { MachineModel, type EventSink, type MachineSpec } from '../../firmware-sim/machine-model.ts';

/** Monday 2026-11-30 00:00 UTC: a fixed start, so every run sees the same weekdays and hours. */
export const MONDAY = Date.UTC(2026, 10, 30);
export const HOUR = 3_600_000;
export const DAY = 24 * HOUR;

export const ALL_CONSENT: ConsentCategories = { usage: true, location: 'exact', payment: true, diagnostics: true };

export function consentFor(deviceId: string, categories: ConsentCategories, version = 1): ConsentRecord {
  return { deviceId, version, issuedAt: '2026-11-29T12:00:00.000Z', categories };
}

export class CollectingSink implements EventSink {
  readonly events: OutgoingEnvelope[] = [];
  readonly suppressed: Array<{ kind: EventKind; reason: SuppressReason }> = [];
  emit(_kind: EventKind, envelope: OutgoingEnvelope): void {
    this.events.push(envelope);
  }
  suppress(kind: EventKind, reason: SuppressReason): void {
    this.suppressed.push({ kind, reason });
  }
  ofKind(kind: EventKind): OutgoingEnvelope[] {
    return this.events.filter((e) => e.kind === kind);
  }
}

/** A machine that boots at `MONDAY`, gets `categories` (when given) right away, and runs `hours` of simulated time in steps. */
export function runMachine(
  spec: Partial<MachineSpec> & { usage: MachineSpec['usage'] },
  hours: number,
  categories: ConsentCategories | null = ALL_CONSENT,
  stepMs = 7 * 60_000,
): { model: MachineModel; sink: CollectingSink } {
  const deviceId = spec.deviceId ?? 'cm-test-machine';
  const model = new MachineModel({ deviceId, region: 'eu', fleetSeed: 42, index: 0, bootAt: MONDAY, ...spec });
  const sink = new CollectingSink();
  if (categories !== null) model.applyConsent(consentFor(deviceId, categories), MONDAY);
  const end = MONDAY + hours * HOUR;
  for (let t = MONDAY; t < end; t += stepMs) model.advance(Math.min(t + stepMs, end), sink);
  return { model, sink };
}
