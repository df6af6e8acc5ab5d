import type { RegionId } from '../../schema/regions.ts';

/**
 * Bounds how many messages of one region are inside ingest at once. At the bound a message waits for
 * room while its region's store is merely behind (the source's global in-flight limit then stops
 * reading, so memory stays bounded); while that store is failing, further messages of the region are
 * turned away instead: they stay unacknowledged at the broker and the other regions keep flowing.
 * Once a region that turned messages away is down to half its bound, `onRelieved` asks for them again.
 */
export class RegionAdmission {
  readonly #inside = new Map<RegionId, number>();
  readonly #waiting = new Map<RegionId, (() => void)[]>();
  readonly #turnedAway = new Set<RegionId>();

  constructor(
    private readonly max: number,
    private readonly failing: (region: RegionId) => boolean,
    private readonly onRelieved: (region: RegionId) => void,
  ) {}

  /** Takes the message in at once when its region has room; the common case, without a promise. */
  tryEnter(region: RegionId): boolean {
    const inside = this.#inside.get(region) ?? 0;
    if (inside >= this.max) return false;
    this.#inside.set(region, inside + 1);
    return true;
  }

  /** Resolves true once the message is inside, false when it is turned away. */
  async admit(region: RegionId): Promise<boolean> {
    while ((this.#inside.get(region) ?? 0) >= this.max) {
      if (this.failing(region)) {
        this.#turnedAway.add(region);
        return false;
      }
      await new Promise<void>((resolve) => this.#queue(region).push(resolve));
    }
    this.#inside.set(region, (this.#inside.get(region) ?? 0) + 1);
    return true;
  }

  release(region: RegionId): void {
    const inside = (this.#inside.get(region) ?? 1) - 1;
    this.#inside.set(region, inside);
    this.#queue(region).shift()?.();
    if (inside <= this.max / 2 && this.#turnedAway.delete(region)) this.onRelieved(region);
  }

  /** The region's store just failed: whoever waits for room there is turned away now. */
  storeFailed(region: RegionId): void {
    for (const wake of this.#queue(region).splice(0)) wake();
  }

  #queue(region: RegionId): (() => void)[] {
    let queue = this.#waiting.get(region);
    if (!queue) {
      queue = [];
      this.#waiting.set(region, queue);
    }
    return queue;
  }
}
