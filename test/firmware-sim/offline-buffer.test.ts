import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { OfflineBuffer } from '../../firmware-sim/offline-buffer.ts';

const drain = <T>(buffer: OfflineBuffer<T>): T[] => {
  const out: T[] = [];
  for (let item = buffer.shift(); item !== undefined; item = buffer.shift()) out.push(item);
  return out;
};

describe('offline buffer', () => {
  it('gives entries back oldest first', () => {
    const buffer = new OfflineBuffer<number>(10);
    for (let i = 0; i < 7; i++) expect(buffer.push(i)).toBe(0);
    expect(buffer.size).toBe(7);
    expect(drain(buffer)).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect(buffer.size).toBe(0);
  });

  it('drops the oldest when full and reports each drop', () => {
    const buffer = new OfflineBuffer<number>(3);
    const dropped = [1, 2, 3, 4, 5].reduce((sum, i) => sum + buffer.push(i), 0);
    expect(dropped).toBe(2);
    expect(drain(buffer)).toEqual([3, 4, 5]);
  });

  it('keeps nothing with capacity 0', () => {
    const buffer = new OfflineBuffer<number>(0);
    expect(buffer.push(1)).toBe(1);
    expect(buffer.size).toBe(0);
  });

  it('clear discards everything and says how much', () => {
    const buffer = new OfflineBuffer<number>(5);
    for (const i of [1, 2, 3]) buffer.push(i);
    expect(buffer.clear()).toBe(3);
    expect(buffer.shift()).toBeUndefined();
  });

  it('behaves like "the last `capacity` of everything pushed" under any mix of pushes and shifts', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 20 }), fc.array(fc.oneof(fc.constant('shift' as const), fc.integer())), (capacity, ops) => {
        const buffer = new OfflineBuffer<number>(capacity);
        let model: number[] = [];
        let droppedModel = 0;
        let dropped = 0;
        for (const op of ops) {
          if (op === 'shift') {
            expect(buffer.shift()).toBe(model.shift());
          } else {
            dropped += buffer.push(op);
            model.push(op);
            if (model.length > capacity) {
              model = model.slice(1);
              droppedModel++;
            }
          }
          expect(buffer.size).toBe(model.length);
        }
        expect(dropped).toBe(droppedModel);
        expect(drain(buffer)).toEqual(model);
      }),
      { numRuns: 300 },
    );
  });
});
