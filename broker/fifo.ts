/**
 * A first-in first-out queue whose shift() is O(1). A JavaScript array's shift() moves every
 * element left once the array is large, so a queue thousands long that is drained one item at a
 * time costs O(n) per item: what aedes' message emitter and session store did under a fleet's load.
 * Items live in a ring that doubles when full; a shifted slot is cleared so nothing stays reachable.
 */
export class Fifo<T> {
  #ring: Array<T | undefined> = new Array<T | undefined>(16);
  #head = 0;
  #size = 0;

  get length(): number {
    return this.#size;
  }

  push(item: T): number {
    if (this.#size === this.#ring.length) this.#grow();
    this.#ring[(this.#head + this.#size) % this.#ring.length] = item;
    return ++this.#size;
  }

  shift(): T | undefined {
    if (this.#size === 0) return undefined;
    const item = this.#ring[this.#head];
    this.#ring[this.#head] = undefined;
    this.#head = (this.#head + 1) % this.#ring.length;
    this.#size--;
    return item;
  }

  #grow(): void {
    const ring = new Array<T | undefined>(this.#ring.length * 2);
    for (let i = 0; i < this.#size; i++) ring[i] = this.#ring[(this.#head + i) % this.#ring.length];
    this.#ring = ring;
    this.#head = 0;
  }
}
