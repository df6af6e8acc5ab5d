import { describe, expect, it } from 'vitest';
import { ReadOnceMap } from '../../server/read-once-map.ts';

/** A read the test answers when it chooses. */
function deferred<T>(): { promise: Promise<T>; resolve(value: T): void; reject(error: Error): void } {
  let resolve: (value: T) => void = () => undefined;
  let reject: (error: Error) => void = () => undefined;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

describe('ReadOnceMap', () => {
  it('reads a key once: callers share the read, then memory answers without a promise', async () => {
    const map = new ReadOnceMap<string, number[]>();
    const read = deferred<number[]>();
    let reads = 0;
    const kept: number[][] = [];
    const readIt = (): Promise<number[]> => {
      reads++;
      return read.promise;
    };
    const first = map.get('a', readIt, (v) => kept.push(v));
    const second = map.get('a', readIt, (v) => kept.push(v));
    expect(second).toBe(first);
    expect(map.cached('a')).toBeUndefined();
    read.resolve([1]);
    expect(await first).toEqual([1]);
    expect(map.cached('a')).toEqual([1]);
    expect(await map.get('a', readIt)).toEqual([1]);
    expect(reads).toBe(1);
    expect(kept).toEqual([[1]]);
  });

  it('forgets a failed read, so the next use reads again', async () => {
    const map = new ReadOnceMap<string, number>();
    await expect(map.get('a', () => Promise.reject(new Error('store down')))).rejects.toThrow('store down');
    expect(map.cached('a')).toBeUndefined();
    expect(await map.get('a', async () => 7)).toBe(7);
    expect(map.cached('a')).toBe(7);
  });

  it('keeps what set or delete put there while a read was out', async () => {
    const map = new ReadOnceMap<string, string>();
    const stale = deferred<string>();
    const kept: string[] = [];
    const overtaken = map.get(
      'a',
      () => stale.promise,
      (v) => kept.push(v),
    );
    map.set('a', 'written since');
    stale.resolve('read before');
    await overtaken;
    expect(map.cached('a')).toBe('written since');

    const dropped = deferred<string>();
    const read = map.get(
      'b',
      () => dropped.promise,
      (v) => kept.push(v),
    );
    map.delete('b');
    dropped.resolve('read before the delete');
    await read;
    expect(map.cached('b')).toBeUndefined();
    expect(kept).toEqual([]);

    const failed = deferred<string>();
    const failing = map.get('c', () => failed.promise);
    map.set('c', 'written since');
    failed.reject(new Error('store down'));
    await expect(failing).rejects.toThrow();
    expect(map.cached('c')).toBe('written since');
  });
});
