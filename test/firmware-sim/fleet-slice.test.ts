import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseCli } from '../../firmware-sim/cli-args.ts';
import { fleetSliceSchema, sliceRange } from '../../firmware-sim/fleet-slice.ts';

describe('fleet slices (--slice K/N)', () => {
  it('N slices are disjoint, cover the fleet in order, and differ in size by at most one', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 200_000 }), fc.integer({ min: 1, max: 64 }), (machines, of) => {
        fc.pre(of <= machines);
        const ranges = Array.from({ length: of }, (_, k) => sliceRange(machines, { index: k + 1, of }));
        let next = 0;
        for (const range of ranges) {
          expect(range.first).toBe(next);
          expect(range.count).toBeGreaterThan(0);
          next = range.first + range.count;
        }
        expect(next).toBe(machines);
        const sizes = ranges.map((r) => r.count);
        expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1);
      }),
    );
  });

  it('gives the index ranges people expect', () => {
    expect(sliceRange(100_000, { index: 2, of: 4 })).toEqual({ first: 25_000, count: 25_000 });
    expect(sliceRange(10, { index: 1, of: 3 })).toEqual({ first: 0, count: 3 });
    expect(sliceRange(10, { index: 3, of: 3 })).toEqual({ first: 6, count: 4 });
    expect(sliceRange(7, { index: 1, of: 1 })).toEqual({ first: 0, count: 7 });
  });

  it('refuses more slices than machines', () => {
    expect(() => sliceRange(3, { index: 1, of: 4 })).toThrow(/4 slices of 3 machines/);
  });

  it('reads K/N with 1 <= K <= N and nothing else', () => {
    expect(fleetSliceSchema.parse('2/4')).toEqual({ index: 2, of: 4 });
    for (const bad of ['0/4', '5/4', '2', '2/0', '-1/4', 'a/b', '1/2/3', '1.5/4', ' 1/2']) {
      expect(fleetSliceSchema.safeParse(bad).success, bad).toBe(false);
    }
  });

  it('on the command line: --slice is checked against --machines and refused with --replay', () => {
    const base = ['--broker', 'mqtt://h', '--api', 'http://h:8080', '--token', 't'];
    expect(parseCli([...base, '--machines', '100000', '--slice', '2/4'], {})).toMatchObject({ config: { slice: { index: 2, of: 4 } } });
    expect(parseCli([...base, '--machines', '3', '--slice', '1/4'], {})).toMatchObject({ error: '--slice: more slices than machines' });
    expect(parseCli([...base, '--slice', '3/2'], {})).toMatchObject({ error: expect.stringMatching(/^--slice: K\/N needs 1 <= K <= N/) });
    expect(parseCli([...base, '--slice', 'half'], {})).toMatchObject({ error: expect.stringMatching(/^--slice: expected K\/N/) });
    expect(parseCli(['--broker', 'mqtt://h', '--replay', 'run.jsonl', '--slice', '1/2'], {})).toMatchObject({
      error: '--slice: --replay runs no fleet to slice',
    });
    // A credentials file's length is known only once it is read; the slice is checked then.
    expect(parseCli(['--broker', 'mqtt://h', '--credentials', 'f', '--slice', '1/2'], {})).toMatchObject({ config: { slice: { index: 1, of: 2 } } });
  });
});
