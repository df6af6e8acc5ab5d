import type { RegionId } from '../../schema/regions.ts';
import type { RegionStore } from '../store/types.ts';

/**
 * Which devices were erased, per region: read from the region's store once, then kept current by
 * erasures made in this process. Ingest asks it for every event, so it must answer from memory.
 * Erasures made by other server processes arrive through watchPeerChanges (peer-changes.ts).
 */
export class TombstoneCache {
  /** A region's set while its read is out, then the set itself (so known() answers without a promise). */
  readonly #loaded = new Map<RegionId, Set<string> | Promise<Set<string>>>();

  constructor(private readonly regions: ReadonlyMap<RegionId, RegionStore>) {}

  async has(region: RegionId, deviceId: string): Promise<boolean> {
    return (await this.#set(region)).has(deviceId);
  }

  /** From memory: undefined until the region's tombstones are read (then has() reads them). */
  known(region: RegionId, deviceId: string): boolean | undefined {
    const loaded = this.#loaded.get(region);
    return loaded instanceof Set ? loaded.has(deviceId) : undefined;
  }

  async add(region: RegionId, deviceIds: readonly string[]): Promise<void> {
    const set = await this.#set(region);
    for (const id of deviceIds) set.add(id);
  }

  async #set(region: RegionId): Promise<Set<string>> {
    const loaded = this.#loaded.get(region);
    if (loaded) return loaded;
    const store = this.regions.get(region);
    if (!store) throw new Error(`no store for region ${region}`);
    const read = store.tombstoned().then((ids) => new Set(ids));
    this.#loaded.set(region, read);
    read.then(
      (set) => {
        if (this.#loaded.get(region) === read) this.#loaded.set(region, set);
      },
      // A failed read must not stick: the next event retries the store.
      () => {
        if (this.#loaded.get(region) === read) this.#loaded.delete(region);
      },
    );
    return read;
  }
}
