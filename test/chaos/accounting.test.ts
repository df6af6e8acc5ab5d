import { describe, expect, it } from 'vitest';
import type { FleetStats } from '../../firmware-sim/fleet.ts';
import { booksBalance, chaosReport, closeBooks, type DiskCounts } from './accounting.ts';

const device = (over: Partial<FleetStats>): FleetStats => ({
  machines: 1,
  connected: 1,
  allConnectedAt: null,
  published: 0,
  publishedByKind: { brew: 0, location: 0, payment: 0, status: 0, fault: 0 },
  suppressed: 0,
  failed: 0,
  pending: 0,
  commands: 0,
  commandOutcomes: { applied: 0, duplicate: 0, stale: 0, command_unknown: 0, command_malformed: 0, failed: 0 },
  commandReplies: 0,
  buffered: 0,
  bufferedBytes: 0,
  dropped: 0,
  droppedFleetBacklog: 0,
  injected: { drop: 0, duplicate: 0, reorder: 0, delay: 0, disconnect: 0, malformed: 0 },
  refusals: { puback: {}, connack: {}, disconnect: {} },
  redirected: 0,
  relocated: 0,
  directoryLookups: 0,
  directoryUnavailable: 0,
  bytesWritten: 0,
  ...over,
});
const disk = (over: Partial<DiskCounts>): DiskCounts => ({ events: 0, distinctIds: 0, distinctDeviceSeqs: 0, refusals: 0, ...over });

describe('chaos books', () => {
  it('balance when every published event is stored or refused', () => {
    const books = closeBooks(
      's',
      1,
      [device({ published: 7 }), device({ published: 3 })],
      disk({ events: 8, distinctIds: 8, distinctDeviceSeqs: 8, refusals: 2 }),
      1,
      '',
    );
    expect(books).toMatchObject({ published: 10, stored: 8, refused: 2, lost: 0, unaccounted: 0, duplicated: 0 });
    expect(booksBalance(books)).toBe(true);
  });

  it('show a loss, events still held on devices, and drops', () => {
    const books = closeBooks(
      's',
      1,
      [device({ published: 10, buffered: 1, pending: 1, dropped: 2 })],
      disk({ events: 7, distinctIds: 7, distinctDeviceSeqs: 7 }),
      1,
      '',
    );
    expect(books).toMatchObject({ lost: 1, buffered: 2, dropped: 2 });
    expect(booksBalance(books)).toBe(false);
  });

  it('count a row stored twice, by id or by (device, sequence number)', () => {
    const twiceById = closeBooks('s', 1, [device({ published: 2 })], disk({ events: 3, distinctIds: 2, distinctDeviceSeqs: 2 }), 1, '');
    const twiceBySeq = closeBooks('s', 1, [device({ published: 3 })], disk({ events: 3, distinctIds: 3, distinctDeviceSeqs: 2 }), 1, '');
    expect([twiceById.duplicated, twiceBySeq.duplicated]).toEqual([1, 1]);
    expect(booksBalance(twiceBySeq)).toBe(false);
  });

  it('never balance an empty scenario, and report scenarios that could not finish as failed', () => {
    const empty = closeBooks('s', 1, [device({})], disk({}), 1, '');
    expect(booksBalance(empty)).toBe(false);
    expect(chaosReport([empty], 2).split('\n').at(-1)).toMatch(/^scenarios=3 failed=3 .* lost=0 duplicated=0$/);
  });
});
