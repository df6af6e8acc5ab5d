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
    const outcome = pending.then(() => 'committed', (err: unknown) => err);
    await writer.close(30);
    expect(await outcome).toBeInstanceOf(IngestAbortedError);
    await expect(writer.write('b')).rejects.toBeInstanceOf(IngestAbortedError);
  });
});
