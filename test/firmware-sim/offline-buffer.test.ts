import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { PublishOptions } from '../../mqtt-wire/client-options.ts';
import { OfflineBuffer, type WaitingEvent } from '../../firmware-sim/offline-buffer.ts';
import { EVENT_KINDS, type EventKind } from '../../schema/events.ts';

const A: PublishOptions = { qos: 1, retain: false };
const B: PublishOptions = { qos: 1, retain: false, properties: { contentType: 'application/json' } };

const drain = (buffer: OfflineBuffer): WaitingEvent[] => {
  const out: WaitingEvent[] = [];
  for (let item = buffer.shift(); item !== undefined; item = buffer.shift()) out.push(item);
  return out;
};
const payloads = (events: WaitingEvent[]): string[] => events.map((event) => event.payload);

describe('offline buffer', () => {
  it('gives entries back oldest first, with their kind and options', () => {
    const buffer = new OfflineBuffer(10);
    for (let i = 0; i < 7; i++) expect(buffer.push(EVENT_KINDS[i % EVENT_KINDS.length]!, `{"seq":${i}}`, i < 3 ? A : B)).toBe(0);
    expect(buffer.size).toBe(7);
    const out = drain(buffer);
    expect(payloads(out)).toEqual([0, 1, 2, 3, 4, 5, 6].map((i) => `{"seq":${i}}`));
    expect(out.map((event) => event.kind)).toEqual([0, 1, 2, 3, 4, 5, 6].map((i) => EVENT_KINDS[i % EVENT_KINDS.length]));
    // The very objects handed over: the connection compares them by identity (one per consent version).
    expect(out.map((event) => event.options)).toEqual([A, A, A, B, B, B, B]);
    expect(out[0]!.options).toBe(A);
    expect(out[6]!.options).toBe(B);
    expect(buffer.size).toBe(0);
    expect(buffer.byteSize).toBe(0);
  });

  it('drops the oldest when full and reports each drop', () => {
    const buffer = new OfflineBuffer(3);
    const dropped = [1, 2, 3, 4, 5].reduce((sum, i) => sum + buffer.push('status', String(i), A), 0);
    expect(dropped).toBe(2);
    expect(payloads(drain(buffer))).toEqual(['3', '4', '5']);
  });

  it('keeps nothing with capacity 0', () => {
    const buffer = new OfflineBuffer(0);
    expect(buffer.push('status', '1', A)).toBe(1);
    expect(buffer.size).toBe(0);
  });

  it('clear discards everything, says how much and gives the storage back', () => {
    const buffer = new OfflineBuffer(5);
    for (const i of [1, 2, 3]) buffer.push('brew', String(i), A);
    expect(buffer.reservedBytes).toBeGreaterThan(0);
    expect(buffer.clear()).toBe(3);
    expect(buffer.shift()).toBeUndefined();
    expect(buffer.reservedBytes).toBe(0);
  });

  it('keeps text exactly as given: multi-byte characters, empty payloads, long payloads', () => {
    const buffer = new OfflineBuffer(10);
    const texts = ['', '{"city":"São Paulo","name":"Jürgen Ørsted"}', '☕'.repeat(5_000), 'x'.repeat(40_000), '\u0000\uffff'];
    for (const text of texts) buffer.push('location', text, A);
    expect(buffer.byteSize).toBe(texts.reduce((sum, text) => sum + 5 + Buffer.byteLength(text), 0));
    expect(payloads(drain(buffer))).toEqual(texts);
  });

  it('dropOldest discards one entry without handing it out', () => {
    const buffer = new OfflineBuffer(5);
    expect(buffer.dropOldest()).toBe(false);
    for (const i of [1, 2, 3]) buffer.push('status', String(i), i === 1 ? A : B);
    expect(buffer.dropOldest()).toBe(true);
    const out = drain(buffer);
    expect(payloads(out)).toEqual(['2', '3']);
    expect(out.every((event) => event.options === B)).toBe(true);
  });

  it('holds storage in proportion to what waits: a buffer that filled up and emptied gives it back', () => {
    const buffer = new OfflineBuffer(1_000);
    for (let i = 0; i < 1_000; i++) buffer.push('status', 'y'.repeat(300), A);
    const full = buffer.reservedBytes;
    expect(full).toBeGreaterThanOrEqual(buffer.byteSize);
    for (let i = 0; i < 990; i++) buffer.shift();
    expect(buffer.reservedBytes).toBeLessThan(full / 3);
    expect(buffer.size).toBe(10);
    drain(buffer);
    expect(buffer.reservedBytes).toBe(0);
  });

  it('behaves like "the last `capacity` of everything pushed" under any mix of pushes, shifts and drops: nothing lost, duplicated or reordered', () => {
    const kind = fc.constantFrom(...EVENT_KINDS);
    const push = fc.record({ kind, payload: fc.string({ unit: 'grapheme', maxLength: 400 }), options: fc.constantFrom(A, B) });
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 20 }),
        fc.array(fc.oneof(fc.constant('shift' as const), fc.constant('drop' as const), push), { maxLength: 200 }),
        (capacity, ops) => {
          const buffer = new OfflineBuffer(capacity);
          let model: Array<{ kind: EventKind; payload: string; options: PublishOptions }> = [];
          let droppedModel = 0;
          let dropped = 0;
          for (const op of ops) {
            if (op === 'shift') {
              const got = buffer.shift();
              const want = model.shift();
              expect(got).toEqual(want);
              if (want !== undefined) expect(got!.options).toBe(want.options);
            } else if (op === 'drop') {
              expect(buffer.dropOldest()).toBe(model.length > 0);
              model.shift();
            } else {
              dropped += buffer.push(op.kind, op.payload, op.options);
              model.push(op);
              if (model.length > capacity) {
                model = model.slice(1);
                droppedModel++;
              }
            }
            expect(buffer.size).toBe(model.length);
            expect(buffer.byteSize).toBe(model.reduce((sum, event) => sum + 5 + Buffer.byteLength(event.payload), 0));
          }
          expect(dropped).toBe(droppedModel);
          expect(drain(buffer)).toEqual(model);
        },
      ),
      { numRuns: 300 },
    );
  });
});
