/**
 * What a machine keeps while it has no broker: a bounded first-in-first-out queue. Full, it drops the
 * oldest entry to make room, because a fresh reading is worth more than a stale one, and says so, so
 * the caller can count the loss. Storage grows on demand: most machines never go offline, and a fleet
 * of ten thousand must not reserve ten thousand full buffers up front.
 */
export class OfflineBuffer<T> {
  private items: Array<T | undefined> = [];
  private head = 0;
  private count = 0;

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 0) throw new Error('buffer capacity must be a non-negative integer');
  }

  get size(): number {
    return this.count;
  }

  /** Appends; returns how many old entries fell out to make room (0 or 1; 1 also when capacity is 0). */
  push(item: T): number {
    if (this.capacity === 0) return 1;
    if (this.count === this.capacity) {
      this.items[this.head] = item;
      this.head = (this.head + 1) % this.capacity;
      return 1;
    }
    if (this.count === this.items.length) this.grow();
    this.items[(this.head + this.count) % this.items.length] = item;
    this.count++;
    return 0;
  }

  /** Removes and returns the oldest entry. */
  shift(): T | undefined {
    if (this.count === 0) return undefined;
    const item = this.items[this.head];
    this.items[this.head] = undefined;
    this.count--;
    this.head = this.count === 0 ? 0 : (this.head + 1) % this.items.length;
    if (this.count === 0) this.items = [];
    return item;
  }

  /** Empties the buffer and returns how many entries were discarded. */
  clear(): number {
    const discarded = this.count;
    this.items = [];
    this.head = 0;
    this.count = 0;
    return discarded;
  }

  /** Lays the entries out flat again with room for about twice as many, never beyond the capacity. */
  private grow(): void {
    const flat: Array<T | undefined> = [];
    for (let i = 0; i < this.count; i++) flat.push(this.items[(this.head + i) % this.items.length]);
    flat.length = Math.min(this.capacity, Math.max(4, this.count * 2));
    this.items = flat;
    this.head = 0;
  }
}
