import type { Directory, DirectoryEntry } from '../store/types.ts';

/**
 * Device id -> directory entry. A device's region never changes, so hits are kept; misses are not,
 * because a device provisioned a moment ago (maybe by another replica) must be found at once. An
 * erasure forgets the entry here (erasure.ts) and in every other server process sharing the
 * directory (peer-changes.ts), so nothing reads a revoked device's old entry from memory. Holds at
 * most `maxEntries` devices; past that the least recently used go first.
 */
export class DirectoryCache {
  readonly #entries = new Map<string, DirectoryEntry>();

  constructor(
    readonly directory: Directory,
    private readonly maxEntries = 100_000,
  ) {}

  async lookup(deviceId: string): Promise<DirectoryEntry | null> {
    const hit = this.#entries.get(deviceId);
    if (hit) {
      // Re-inserted, so the map's order is least recently used first.
      this.#entries.delete(deviceId);
      this.#entries.set(deviceId, hit);
      return hit;
    }
    const entry = await this.directory.lookup(deviceId);
    if (entry) this.remember(entry);
    return entry;
  }

  remember(entry: DirectoryEntry): void {
    this.#entries.delete(entry.deviceId);
    if (this.#entries.size >= this.maxEntries) this.#entries.delete(this.#entries.keys().next().value!);
    this.#entries.set(entry.deviceId, entry);
  }

  /** For erasure and device deletion: the next lookup asks the directory again. */
  forget(deviceId: string): void {
    this.#entries.delete(deviceId);
  }

  get size(): number {
    return this.#entries.size;
  }
}
