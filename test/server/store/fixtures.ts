import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import pino from 'pino';
import type { EventKind } from '../../../schema/events.ts';
import type { EventRow } from '../../../server/store/types.ts';

let counter = 0;

/** A UUIDv7-shaped id, time-ordered like the ids devices mint. */
export function eventId(at = Date.now()): string {
  const hex = `${at.toString(16).padStart(12, '0')}7${(counter++ % 4096).toString(16).padStart(3, '0')}${randomBytes(8).toString('hex')}`;
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

export const newDeviceId = (): string => `cm-${randomBytes(8).toString('hex')}`;

export function eventRow(deviceId: string, seq: number, overrides: Partial<EventRow> = {}): EventRow {
  const deviceTs = new Date(Date.UTC(2026, 10, 1, 12, 0, 0, seq));
  return {
    id: eventId(deviceTs.getTime()),
    deviceId,
    kind: 'brew' satisfies EventKind,
    seq,
    deviceTs,
    receivedAt: new Date(deviceTs.getTime() + 5),
    consentVersion: 1,
    body: JSON.stringify({ recipe: 'espresso', note: `it's "quoted" \\ and ünïcode`, seq }),
    ...overrides,
  };
}

/** A logger whose lines the test can read, to see what a store did without looking inside it. */
export function recordingLogger(): { logger: pino.Logger; lines: () => Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n').filter(Boolean)) lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { logger: pino({ level: 'info' }, sink), lines: () => lines };
}
