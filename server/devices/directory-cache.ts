import { BatchLoader } from '../batch-loader.ts';
import type { Directory, DirectoryEntry } from '../store/types.ts';

/** Misses read together (server/batch-loader.ts): a few reads out at once, each of up to this many devices. */
const MISS_READS = { maxInFlight: 4, batchMax: 500 };

/**
 * Device id -> directory entry. A device's region never changes, so hits are kept; misses are not,
 * because a device provisioned a moment ago (maybe by another replica) must be found at once. An
 * erasure forgets the entry here (erasure.ts) and in every other server process sharing the
 * directory (peer-changes.ts), so nothing reads a revoked device's old entry from memory. Holds at
 * most `maxEntries` devices; past that the least recently used go first. Misses that arrive while
 * earlier ones are being read are read together, one query for many devices.
 */
export class DirectoryCache {
  readonly #entries = new Map<string, DirectoryEntry>();
  readonly #misses: BatchLoader<string, DirectoryEntry>;

  constructor(
    readonly directory: Directory,
    private readonly maxEntries = 100_000,
  ) {
    this.#misses = new BatchLoader((deviceIds) => directory.lookupMany(deviceIds), MISS_READS);
  }

  async lookup(deviceId: string): Promise<DirectoryEntry | null> {
    const hit = this.cached(deviceId);
    if (hit) return hit;
    const entry = await this.#misses.load(deviceId);
    if (entry) this.remember(entry);
    return entry ?? null;
  }

  /** The entry when memory holds it, without a promise (ingest asks for every event); undefined means ask lookup(). */
  cached(deviceId: string): DirectoryEntry | undefined {
    const hit = this.#entries.get(deviceId);
    if (hit) {
      // Re-inserted, so the map's order is least recently used first.
      this.#entries.delete(deviceId);
      this.#entries.set(deviceId, hit);
    }
    return hit;
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
