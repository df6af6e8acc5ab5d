import { ENVELOPE_VERSION, type EventKind } from '../schema/events.ts';
import type { Rng } from './random.ts';
import { createUuidV7Generator } from './uuid-v7.ts';

/** A wire envelope, before JSON; the leaky profile's bodies do not fit the strict schema, hence the loose body type. */
export interface OutgoingEnvelope {
  v: typeof ENVELOPE_VERSION;
  id: string;
  deviceId: string;
  ts: string;
  seq: number;
  kind: EventKind;
  consentVersion: number;
  body: object;
}

/** Stamps id, sequence and time on each event a device sends; sequence numbers count sent events only. */
export function createEnvelopeFactory(deviceId: string, idRng: Rng): (kind: EventKind, body: object, at: number, consentVersion: number) => OutgoingEnvelope {
  const nextId = createUuidV7Generator(idRng);
  let seq = 0;
  return (kind, body, at, consentVersion) => ({
    v: ENVELOPE_VERSION,
    id: nextId(at),
    deviceId,
    ts: new Date(at).toISOString(),
    seq: seq++,
    kind,
    consentVersion,
    body,
  });
}
