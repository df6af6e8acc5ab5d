import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Fifo } from '../../broker/fifo.ts';
import { OutgoingQueue } from '../../broker/outgoing-index.ts';
import { steadyEmitterQueue } from '../../broker/emitter-queue.ts';
import mqemitter from 'mqemitter';

type Packet = { brokerId?: string; brokerCounter?: number; messageId?: number; tag: number };

/** aedes-persistence 11's memory store, as it scans its array: the behaviour the index must keep. */
class ScannedQueue {
  readonly items: Packet[] = [];
  update(packet: Packet): boolean {
    for (let i = 0; i < this.items.length; i++) {
      const temp = this.items[i]!;
      if (temp.brokerId === packet.brokerId) {
        if (temp.brokerCounter === packet.brokerCounter) {
          temp.messageId = packet.messageId;
          return true;
        }
      } else if (temp.messageId === packet.messageId) {
        this.items[i] = packet;
        return true;
      }
    }
    return false;
  }
  clear(messageId: number | undefined): Packet | undefined {
    const i = this.items.findIndex((p) => p.messageId === messageId);
    return i === -1 ? undefined : this.items.splice(i, 1)[0];
  }
}

// Few brokers, counters and identifiers, so duplicates and collisions (the rare branches) come up often.
const packetArb = fc.record({
  brokerId: fc.constantFrom('a', 'b', undefined),
  brokerCounter: fc.integer({ min: 1, max: 6 }),
  messageId: fc.option(fc.integer({ min: 1, max: 4 }), { nil: undefined }),
});
const opArb = fc.oneof(
  fc.record({ op: fc.constant('enqueue' as const), packet: packetArb }),
  fc.record({ op: fc.constant('update' as const), packet: packetArb }),
  fc.record({ op: fc.constant('clear' as const), messageId: fc.option(fc.integer({ min: 1, max: 4 }), { nil: undefined }) }),
);

describe('indexed outgoing queue (broker/outgoing-index.ts)', () => {
  it('answers every sequence of enqueue, update and clear as the scanning store does, in the same order', () => {
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 60 }), (ops) => {
        const indexed = new OutgoingQueue();
        const scanned = new ScannedQueue();
        let tag = 0;
        for (const step of ops) {
          if (step.op === 'enqueue') {
            // Each side holds its own copy, as the store copies what it is given.
            const packet = { ...step.packet, tag: tag++ };
            indexed.enqueue({ ...packet });
            scanned.items.push({ ...packet });
          } else if (step.op === 'update') {
            const packet = { ...step.packet, tag: tag++ };
            expect(indexed.update({ ...packet })).toBe(scanned.update({ ...packet }));
          } else {
            expect(indexed.clear(step.messageId)).toEqual(scanned.clear(step.messageId));
          }
          expect(indexed.snapshot()).toEqual(scanned.items);
          expect(indexed.length).toBe(scanned.items.length);
        }
      }),
      { numRuns: 2_000 },
    );
  });
});

describe('Fifo (broker/fifo.ts)', () => {
  it('gives back what was pushed, in order, across growth and wrap-around', () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(fc.integer(), fc.constant('shift' as const)), { maxLength: 200 }), (ops) => {
        const fifo = new Fifo<number>();
        const array: number[] = [];
        for (const op of ops) {
          if (op === 'shift') expect(fifo.shift()).toBe(array.shift());
          else expect(fifo.push(op)).toBe(array.push(op));
          expect(fifo.length).toBe(array.length);
        }
      }),
    );
  });

  it("takes over mqemitter's queue: a message beyond the concurrency waits, then is delivered in order", async () => {
    const emitter = mqemitter({ concurrency: 1 });
    expect(steadyEmitterQueue(emitter)).toBe(true);
    const seen: number[] = [];
    const releases: Array<() => void> = [];
    emitter.on('t', (message, done) => {
      seen.push(Number(Reflect.get(message, 'n')));
      releases.push(done);
    });
    for (let n = 0; n < 3; n++) emitter.emit({ topic: 't', n });
    // Waiting in the emitter's queue (its `length`), which is now the Fifo.
    expect(Reflect.get(emitter, 'length')).toBe(2);
    while (seen.length < 3) {
      await new Promise((resolve) => setImmediate(resolve));
      releases.shift()?.();
    }
    expect(seen).toEqual([0, 1, 2]);
    expect(Reflect.get(emitter, 'length')).toBe(0);
    // Not an emitter, or one already in use: left alone.
    expect(steadyEmitterQueue({})).toBe(false);
  });

  it('drains a deep queue of messages nobody subscribes to without growing the stack (each completes synchronously)', async () => {
    const emitter = mqemitter({ concurrency: 1 });
    steadyEmitterQueue(emitter);
    let hold: () => void = () => undefined;
    emitter.on('held', (_message, done) => {
      hold = done;
    });
    emitter.emit({ topic: 'held' });
    const count = 50_000;
    let completed = 0;
    const all = new Promise<void>((resolve) => {
      for (let n = 0; n < count; n++) emitter.emit({ topic: 'nobody' }, () => ++completed === count && resolve());
    });
    // Plain mqemitter runs the whole queue on this one stack here: RangeError, Maximum call stack size exceeded.
    hold();
    await all;
    expect(completed).toBe(count);
  });
});
