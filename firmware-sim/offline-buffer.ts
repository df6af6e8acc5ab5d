import type { PublishOptions } from '../mqtt-wire/client-options.ts';
import { EVENT_KINDS, type EventKind } from '../schema/events.ts';

/** One waiting event as it comes out again. */
export interface WaitingEvent {
  kind: EventKind;
  payload: string;
  options: PublishOptions;
}

/** Per entry: the payload's UTF-8 length (4 bytes) and the kind's index (1 byte), then the payload. */
const ENTRY_HEADER = 5;
/** The first allocation: a few events' worth, since most machines that fall behind do so only briefly. */
const FIRST_BYTES = 2_048;
/** A buffer this large that is two thirds empty is swapped for a smaller one. */
const SHRINK_ABOVE_BYTES = 8_192;
const KIND_INDEX = Object.fromEntries(EVENT_KINDS.map((kind, index) => [kind, index])) as Record<EventKind, number>;

/**
 * What a machine keeps while it has no broker (or no room in its in-flight window): a bounded
 * first-in-first-out queue. Full, it drops the oldest entry to make room, because a fresh reading is
 * worth more than a stale one, and says so, so the caller can count the loss.
 *
 * Waiting events are kept encoded, as UTF-8 bytes in one buffer per machine, not as strings and
 * objects: a JSON.stringify result is a tree of string pieces (about 510 heap bytes per event with
 * its entry object, against about 290 bytes here, outside the heap), and every event that waits
 * longer than a young-generation collection would otherwise be promoted, then die in the old
 * generation, which is what made a fleet that falls behind its clock peak far above its live size.
 * Storage grows on demand and is given back once empty: most machines never wait, and a fleet of ten
 * thousand must not reserve ten thousand buffers up front.
 *
 * The publish options of the entries are kept as runs (consecutive events of one machine share one
 * options object, made once per consent version), so they cost nothing per event either.
 */
export class OfflineBuffer {
  private bytes: Buffer | null = null;
  /** Byte offsets of the oldest entry and of the end of the newest. */
  private head = 0;
  private tail = 0;
  private count = 0;
  /** Options of the entries, oldest run first: runOptions[i] applies to runCounts[i] entries. */
  private runOptions: PublishOptions[] = [];
  private runCounts: number[] = [];
  private runHead = 0;

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 0) throw new Error('buffer capacity must be a non-negative integer');
  }

  get size(): number {
    return this.count;
  }

  /** Bytes the waiting entries take (headers included), for the fleet's figures. */
  get byteSize(): number {
    return this.tail - this.head;
  }

  /** Bytes reserved for them, at least byteSize. */
  get reservedBytes(): number {
    return this.bytes?.length ?? 0;
  }

  /** Appends; returns how many old entries fell out to make room (0 or 1; 1 also when capacity is 0). */
  push(kind: EventKind, payload: string, options: PublishOptions): number {
    if (this.capacity === 0) return 1;
    let dropped = 0;
    if (this.count === this.capacity) {
      this.discardOldest();
      dropped = 1;
    }
    const length = Buffer.byteLength(payload, 'utf8');
    const bytes = this.roomFor(ENTRY_HEADER + length);
    bytes.writeUInt32LE(length, this.tail);
    bytes[this.tail + 4] = KIND_INDEX[kind];
    bytes.write(payload, this.tail + ENTRY_HEADER, length, 'utf8');
    this.tail += ENTRY_HEADER + length;
    this.count++;
    const last = this.runOptions.length - 1;
    if (last >= this.runHead && this.runOptions[last] === options) this.runCounts[last]!++;
    else {
      this.runOptions.push(options);
      this.runCounts.push(1);
    }
    return dropped;
  }

  /** Removes and returns the oldest entry. */
  shift(): WaitingEvent | undefined {
    if (this.count === 0 || this.bytes === null) return undefined;
    const bytes = this.bytes;
    const length = bytes.readUInt32LE(this.head);
    const start = this.head + ENTRY_HEADER;
    const event: WaitingEvent = {
      kind: EVENT_KINDS[bytes[this.head + 4]!]!,
      payload: bytes.toString('utf8', start, start + length),
      options: this.runOptions[this.runHead]!,
    };
    this.head = start + length;
    this.count--;
    this.takeFromRun();
    this.settle();
    return event;
  }

  /** Discards the oldest entry without decoding it; false when there was none. */
  dropOldest(): boolean {
    if (this.count === 0) return false;
    this.discardOldest();
    this.settle();
    return true;
  }

  /** Empties the buffer and returns how many entries were discarded. */
  clear(): number {
    const discarded = this.count;
    this.release();
    return discarded;
  }

  private discardOldest(): void {
    this.head += ENTRY_HEADER + this.bytes!.readUInt32LE(this.head);
    this.count--;
    this.takeFromRun();
  }

  private takeFromRun(): void {
    if (--this.runCounts[this.runHead]! > 0) return;
    this.runHead++;
    // The consumed runs are cut off now and then, not on every step.
    if (this.runHead > 32 && this.runHead * 2 > this.runOptions.length) {
      this.runOptions = this.runOptions.slice(this.runHead);
      this.runCounts = this.runCounts.slice(this.runHead);
      this.runHead = 0;
    }
  }

  /** Gives the storage back once empty; swaps a mostly empty large buffer for a smaller one. */
  private settle(): void {
    if (this.count === 0) return this.release();
    const live = this.tail - this.head;
    if (this.bytes!.length > SHRINK_ABOVE_BYTES && live * 3 < this.bytes!.length)
      this.moveTo(Buffer.allocUnsafeSlow(Math.max(FIRST_BYTES, Math.ceil(live * 1.5))));
  }

  /**
   * The buffer, with at least `need` bytes free after the tail: compacted, or moved to a larger one.
   * Always its own allocation, never a slice of Node's shared pool: it may outlive many other buffers.
   */
  private roomFor(need: number): Buffer {
    if (this.bytes === null) {
      this.bytes = Buffer.allocUnsafeSlow(Math.max(FIRST_BYTES, need));
      this.head = 0;
      this.tail = 0;
      return this.bytes;
    }
    if (this.tail + need <= this.bytes.length) return this.bytes;
    const live = this.tail - this.head;
    // Room behind the oldest entry: the entries move to the front (a copy of at most this buffer).
    if (live + need <= this.bytes.length) {
      this.bytes.copy(this.bytes, 0, this.head, this.tail);
      this.head = 0;
      this.tail = live;
      return this.bytes;
    }
    // By half again, not double: what waits is bounded (per machine and for the fleet), slack is not.
    return this.moveTo(Buffer.allocUnsafeSlow(Math.max(Math.ceil(this.bytes.length * 1.5), live + need)));
  }

  private moveTo(next: Buffer): Buffer {
    const live = this.tail - this.head;
    this.bytes!.copy(next, 0, this.head, this.tail);
    this.bytes = next;
    this.head = 0;
    this.tail = live;
    return next;
  }

  private release(): void {
    this.bytes = null;
    this.head = 0;
    this.tail = 0;
    this.count = 0;
    if (this.runOptions.length > 0) {
      this.runOptions = [];
      this.runCounts = [];
    }
    this.runHead = 0;
  }
}
