import { describe, expect, it } from 'vitest';
import { BatchWriter } from '../../../server/ingest/batch-writer.ts';
import { IngestAbortedError } from '../../../server/ingest/retry.ts';

const noRetryLog = { initialMs: 5, maxMs: 20, onError: () => undefined };

describe('batch writer', () => {
  it('groups writes up to batchMax and resolves each only after its batch committed', async () => {
    const batches: number[][] = [];
    const writer = new BatchWriter<number>({
      batchMax: 3,
      lingerMs: 50,
      retry: noRetryLog,
      flush: async (items) => {
        batches.push([...items]);
      },
    });
    await Promise.all([1, 2, 3, 4].map((n) => writer.write(n)));
    expect(batches).toEqual([[1, 2, 3], [4]]);
    await writer.close(100);
  });

  it('retries a failed batch with backoff until it commits', async () => {
    let attempts = 0;
    const errors: number[] = [];
    const writer = new BatchWriter<string>({
      batchMax: 10,
      lingerMs: 0,
      retry: { ...noRetryLog, onError: (_err, attempt) => errors.push(attempt) },
      flush: async () => {
        if (++attempts < 3) throw new Error('store down');
      },
    });
    await writer.write('a');
    expect(attempts).toBe(3);
    expect(errors).toEqual([1, 2]);
    await writer.close(100);
  });

  it('on close gives up on a store that stays down, leaving those items unacknowledged', async () => {
    const writer = new BatchWriter<string>({
      batchMax: 10,
      lingerMs: 0,
      retry: noRetryLog,
      flush: async () => {
        throw new Error('store down');
      },
    });
    const pending = writer.write('a');
    const outcome = pending.then(
      () => 'committed',
      (err: unknown) => err,
    );
    await writer.close(30);
    expect(await outcome).toBeInstanceOf(IngestAbortedError);
    await expect(writer.write('b')).rejects.toBeInstanceOf(IngestAbortedError);
  });

  it('isolates rows the store rejects by halving the batch: they are declined, the rest commit, the writer keeps going', async () => {
    const poison = new Set([3, 11]);
    const committed: number[] = [];
    const flushes: number[][] = [];
    const rejected: number[] = [];
    const rejection = Object.assign(new Error('value out of range'), { rejected: true });
    const writer = new BatchWriter<number>({
      batchMax: 16,
      lingerMs: 5,
      retry: noRetryLog,
      isRejection: (err) => (err as { rejected?: boolean }).rejected === true,
      onRejected: (item) => rejected.push(item),
      flush: async (items) => {
        flushes.push([...items]);
        if (items.some((i) => poison.has(i))) throw rejection;
        committed.push(...items);
      },
    });
    const items = Array.from({ length: 16 }, (_, i) => i);
    const outcomes = await Promise.all(items.map((i) => writer.write(i)));
    const declined = outcomes[0]!.declined;
    expect([...declined]).toEqual([
      [3, 'store_rejected'],
      [11, 'store_rejected'],
    ]);
    expect(committed.sort((a, b) => a - b)).toEqual(items.filter((i) => !poison.has(i)));
    expect(rejected).toEqual([3, 11]);
    // 1 + 2·(2 bad rows)·log2(16) flushes at most, far fewer than one per row.
    expect(flushes.length).toBeLessThanOrEqual(1 + 2 * 2 * 4);
    // The next batch is written as usual.
    expect((await writer.write(100)).declined.size).toBe(0);
    expect(committed).toContain(100);
    await writer.close(100);
  });

  it('retries a part of a split batch that fails for a transient reason, and never declines it', async () => {
    let transientLeft = 2;
    const committed: string[] = [];
    const writer = new BatchWriter<string>({
      batchMax: 4,
      lingerMs: 5,
      retry: noRetryLog,
      isRejection: (err) => (err as Error).message === 'bad row',
      flush: async (items) => {
        if (items.includes('bad')) throw new Error('bad row');
        if (items.includes('c') && transientLeft-- > 0) throw new Error('connection lost');
        committed.push(...items);
      },
    });
    const outcomes = await Promise.all(['a', 'bad', 'c', 'd'].map((i) => writer.write(i)));
    expect([...outcomes[0]!.declined.keys()]).toEqual(['bad']);
    expect(committed.sort()).toEqual(['a', 'c', 'd']);
    await writer.close(100);
  });

  it('passes on what the store declined by itself (a tombstone found inside the write)', async () => {
    const writer = new BatchWriter<string, 'device_erased'>({
      batchMax: 3,
      lingerMs: 5,
      retry: noRetryLog,
      flush: async (items) => new Map(items.filter((i) => i.startsWith('erased')).map((i) => [i, 'device_erased' as const])),
    });
    const [outcome] = await Promise.all(['a', 'erased-1', 'b'].map((i) => writer.write(i)));
    expect([...outcome!.declined]).toEqual([['erased-1', 'device_erased']]);
    await writer.close(100);
  });

  it('without isRejection retries every error, as before', async () => {
    let attempts = 0;
    const writer = new BatchWriter<string>({
      batchMax: 2,
      lingerMs: 0,
      retry: noRetryLog,
      flush: async () => {
        if (++attempts < 3) throw Object.assign(new Error('constraint'), { code: '23505' });
      },
    });
    expect((await writer.write('a')).declined.size).toBe(0);
    expect(attempts).toBe(3);
    await writer.close(100);
  });
});
