/**
 * Values read from a store once per key, then answered from memory. While a key's read is out,
 * every caller gets that read's promise; once it resolves the value itself is kept, so `cached`
 * answers without a promise (ingest asks for every event). A failed read is forgotten, so the next
 * use asks the store again; a read that `set` or `delete` overtook meanwhile changes nothing.
 */
export class ReadOnceMap<K, V> {
  readonly #entries = new Map<K, V | Promise<V>>();

  /** The value when memory holds it; undefined while it was never read or its read is out. */
  cached(key: K): V | undefined {
    const entry = this.#entries.get(key);
    return entry instanceof Promise ? undefined : entry;
  }

  /** The kept value, the read already out, or `read()` started now; `kept` hears of a value once it is kept. */
  get(key: K, read: () => Promise<V>, kept?: (value: V) => void): Promise<V> {
    const entry = this.#entries.get(key);
    if (entry !== undefined) return entry instanceof Promise ? entry : Promise.resolve(entry);
    const pending = read();
    this.#entries.set(key, pending);
    pending.then(
      (value) => {
        if (this.#entries.get(key) !== pending) return;
        this.#entries.set(key, value);
        kept?.(value);
      },
      () => {
        if (this.#entries.get(key) === pending) this.#entries.delete(key);
      },
    );
    return pending;
  }

  set(key: K, value: V): void {
    this.#entries.set(key, value);
  }

  delete(key: K): void {
    this.#entries.delete(key);
  }
}
