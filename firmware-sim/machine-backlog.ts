import type { PublishOptions } from '../mqtt-wire/client-options.ts';
import type { EventKind } from '../schema/events.ts';
import type { FleetCounters } from './fleet-stats.ts';
import { OfflineBuffer, type WaitingEvent } from './offline-buffer.ts';

/**
 * One machine's waiting events (offline-buffer.ts), kept in step with the fleet's counters: how many
 * wait and in how many bytes, and what was dropped. Each machine's buffer is bounded, and so are all
 * of them together (`backlogMax`): a process simulating thousands of machines faster than it can
 * send would otherwise hold every machine's full buffer at once.
 */
export class MachineBacklog {
  private readonly buffer: OfflineBuffer;

  constructor(
    capacity: number,
    private readonly counters: FleetCounters,
  ) {
    this.buffer = new OfflineBuffer(capacity);
  }

  get size(): number {
    return this.buffer.size;
  }

  /** Past the fleet's bound a machine gives up its own oldest event, or this one. */
  keep(kind: EventKind, payload: string, options: PublishOptions): void {
    const { counters, buffer } = this;
    const bytesBefore = buffer.byteSize;
    if (counters.buffered >= counters.backlogMax) {
      counters.dropped++;
      counters.droppedFleetBacklog++;
      if (!buffer.dropOldest()) return;
      counters.buffered--;
    }
    const dropped = buffer.push(kind, payload, options);
    counters.buffered += 1 - dropped;
    counters.dropped += dropped;
    counters.bufferedBytes += buffer.byteSize - bytesBefore;
  }

  /** The oldest waiting event, taken out. */
  next(): WaitingEvent | undefined {
    const bytesBefore = this.buffer.byteSize;
    const item = this.buffer.shift();
    if (item === undefined) return undefined;
    this.counters.buffered--;
    this.counters.bufferedBytes -= bytesBefore - this.buffer.byteSize;
    return item;
  }

  /** Forgets every waiting event; returns how many there were. */
  discard(): number {
    this.counters.bufferedBytes -= this.buffer.byteSize;
    const discarded = this.buffer.clear();
    this.counters.buffered -= discarded;
    return discarded;
  }
}
