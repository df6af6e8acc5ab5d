import type { RegionId } from '../../schema/regions.ts';
import type { RegionStore } from '../store/types.ts';
import { ReadOnceMap } from '../read-once-map.ts';

/**
 * Which devices were erased, per region: read from the region's store once, then kept current by
 * erasures made in this process. Ingest asks it for every event, so it must answer from memory.
 * Erasures made by other server processes arrive through watchPeerChanges (peer-changes.ts).
 */
export class TombstoneCache {
  /** Each region's set, read from its store once (known() answers without a promise). */
  readonly #loaded = new ReadOnceMap<RegionId, Set<string>>();

  constructor(private readonly regions: ReadonlyMap<RegionId, RegionStore>) {}

  async has(region: RegionId, deviceId: string): Promise<boolean> {
    return (await this.#set(region)).has(deviceId);
  }

  /** From memory: undefined until the region's tombstones are read (then has() reads them). */
  known(region: RegionId, deviceId: string): boolean | undefined {
    return this.#loaded.cached(region)?.has(deviceId);
  }

  async add(region: RegionId, deviceIds: readonly string[]): Promise<void> {
    const set = await this.#set(region);
    for (const id of deviceIds) set.add(id);
  }

  async #set(region: RegionId): Promise<Set<string>> {
    return this.#loaded.get(region, async () => {
      const store = this.regions.get(region);
      if (!store) throw new Error(`no store for region ${region}`);
      return new Set(await store.tombstoned());
    });
  }
}
