import type { RegionId } from '../../schema/regions.ts';
import type { RegionStore } from '../store/types.ts';

/**
 * Which devices were erased, per region: read from the region's store once, then kept current by
 * erasures made in this process. Ingest asks it for every event, so it must answer from memory.
 * Erasures made by other server processes arrive through watchPeerChanges (peer-changes.ts).
 */
export class TombstoneCache {
  readonly #loaded = new Map<RegionId, Promise<Set<string>>>();

  constructor(private readonly regions: ReadonlyMap<RegionId, RegionStore>) {}

  async has(region: RegionId, deviceId: string): Promise<boolean> {
    return (await this.#set(region)).has(deviceId);
  }

  async add(region: RegionId, deviceIds: readonly string[]): Promise<void> {
    const set = await this.#set(region);
    for (const id of deviceIds) set.add(id);
  }

  #set(region: RegionId): Promise<Set<string>> {
    let loaded = this.#loaded.get(region);
    if (!loaded) {
      const store = this.regions.get(region);
      if (!store) return Promise.reject(new Error(`no store for region ${region}`));
      loaded = store.tombstoned().then((ids) => new Set(ids));
      this.#loaded.set(region, loaded);
      // A failed read must not stick: the next event retries the store.
      loaded.catch(() => this.#loaded.delete(region));
    }
    return loaded;
  }
}
