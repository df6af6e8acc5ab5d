import type { Directory, DirectoryEntry } from '../store/types.ts';

/**
 * Device id -> directory entry. A device's region never changes, so hits are kept; misses are not,
 * because a device provisioned a moment ago (maybe by another replica) must be found at once.
 */
export class DirectoryCache {
  readonly #entries = new Map<string, DirectoryEntry>();

  constructor(readonly directory: Directory) {}

  async lookup(deviceId: string): Promise<DirectoryEntry | null> {
    const hit = this.#entries.get(deviceId);
    if (hit) return hit;
    const entry = await this.directory.lookup(deviceId);
    if (entry) this.#entries.set(deviceId, entry);
    return entry;
  }

  remember(entry: DirectoryEntry): void {
    this.#entries.set(entry.deviceId, entry);
  }

  /** For device deletion: the next lookup asks the directory again. */
  forget(deviceId: string): void {
    this.#entries.delete(deviceId);
  }
}
