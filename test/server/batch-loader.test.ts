import { describe, expect, it } from 'vitest';
import { BatchLoader } from '../../server/batch-loader.ts';

/** A loader whose loads answer only when the test says so, recording the keys of each. */
function controlledLoads() {
  const loads: { keys: readonly string[]; answer(found: Map<string, number>): void; fail(error: Error): void }[] = [];
  const loadMany = (keys: readonly string[]) =>
    new Promise<Map<string, number>>((resolve, reject) => {
      loads.push({ keys, answer: resolve, fail: reject });
    });
  return { loads, loadMany };
}

const turn = () => new Promise((resolve) => setImmediate(resolve));

describe('BatchLoader', () => {
  it('sends a lone key at once and the keys asked for meanwhile together in the next load', async () => {
    const { loads, loadMany } = controlledLoads();
    const loader = new BatchLoader(loadMany, { maxInFlight: 1, batchMax: 100 });
    const first = loader.load('a');
    await turn();
    expect(loads.map((l) => l.keys)).toEqual([['a']]);
    const rest = ['b', 'c', 'd'].map((key) => loader.load(key));
    await turn();
    expect(loads).toHaveLength(1);
    loads[0]!.answer(new Map([['a', 1]]));
    expect(await first).toBe(1);
    await turn();
    expect(loads.map((l) => l.keys)).toEqual([['a'], ['b', 'c', 'd']]);
    loads[1]!.answer(
      new Map([
        ['b', 2],
        ['d', 4],
      ]),
    );
    expect(await Promise.all(rest)).toEqual([2, undefined, 4]);
  });

  it('splits a queue longer than batchMax and keeps maxInFlight loads out at most', async () => {
    const { loads, loadMany } = controlledLoads();
    const loader = new BatchLoader(loadMany, { maxInFlight: 2, batchMax: 3 });
    const keys = Array.from({ length: 9 }, (_, i) => `k${i}`);
    const answers = keys.map((key) => loader.load(key));
    const answerLoad = (i: number) => loads[i]!.answer(new Map(loads[i]!.keys.map((k) => [k, Number(k.slice(1))])));
    await turn();
    // Two slots: the first two keys each found one free; the rest wait.
    expect(loads.map((l) => l.keys)).toEqual([['k0'], ['k1']]);
    answerLoad(0);
    await turn();
    expect(loads.map((l) => l.keys)).toEqual([['k0'], ['k1'], ['k2', 'k3', 'k4']]);
    answerLoad(1);
    await turn();
    expect(loads[3]!.keys).toEqual(['k5', 'k6', 'k7']);
    answerLoad(2);
    await turn();
    expect(loads.map((l) => l.keys)).toHaveLength(5);
    expect(loads[4]!.keys).toEqual(['k8']);
    answerLoad(3);
    answerLoad(4);
    expect(await Promise.all(answers)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8]);
  });

  it('answers a key asked for twice, queued or being loaded, from one load', async () => {
    const { loads, loadMany } = controlledLoads();
    const loader = new BatchLoader(loadMany, { maxInFlight: 1, batchMax: 10 });
    const a1 = loader.load('a');
    await turn();
    const a2 = loader.load('a');
    const b1 = loader.load('b');
    const b2 = loader.load('b');
    await turn();
    loads[0]!.answer(new Map([['a', 1]]));
    await turn();
    expect(loads.map((l) => l.keys)).toEqual([['a'], ['b']]);
    loads[1]!.answer(new Map([['b', 2]]));
    expect(await Promise.all([a1, a2, b1, b2])).toEqual([1, 1, 2, 2]);
  });

  it('rejects every key of a failed load, keeps none of it, and the next ask loads again', async () => {
    const { loads, loadMany } = controlledLoads();
    const loader = new BatchLoader(loadMany, { maxInFlight: 1, batchMax: 10 });
    const failing = [loader.load('a'), loader.load('b')].map((answer) => expect(answer).rejects.toThrow('store away'));
    await turn();
    loads[0]!.fail(new Error('store away'));
    await turn();
    loads[1]!.fail(new Error('store away'));
    await Promise.all(failing);
    const again = loader.load('a');
    await turn();
    expect(loads.map((l) => l.keys)).toEqual([['a'], ['b'], ['a']]);
    loads[2]!.answer(new Map([['a', 7]]));
    expect(await again).toBe(7);
  });

  it('rejects the keys of a loader that throws instead of returning a promise', async () => {
    const loader = new BatchLoader<string, number>(
      () => {
        throw new Error('bad query');
      },
      { maxInFlight: 1, batchMax: 10 },
    );
    await expect(loader.load('a')).rejects.toThrow('bad query');
    // Nothing stuck in flight: a later key gets a load (and the same answer) of its own.
    await expect(loader.load('b')).rejects.toThrow('bad query');
  });
});
