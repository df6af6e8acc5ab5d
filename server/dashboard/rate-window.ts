import type { RateSample } from './dashboard-api.ts';

/** Counts per whole second over a sliding window; memory is bounded by the window, not the traffic. */
export class RateWindow {
  readonly #buckets = new Map<number, { stored: number; refused: number }>();

  constructor(private readonly seconds: number) {}

  add(atMs: number, what: 'stored' | 'refused', count: number): void {
    const second = Math.floor(atMs / 1000);
    const bucket = this.#buckets.get(second) ?? { stored: 0, refused: 0 };
    bucket[what] += count;
    this.#buckets.set(second, bucket);
    this.#forget(second);
  }

  /** The whole seconds before `nowMs`, oldest first, with zeros where nothing was committed. */
  samples(nowMs: number): RateSample[] {
    const current = Math.floor(nowMs / 1000);
    this.#forget(current);
    const out: RateSample[] = [];
    for (let t = current - this.seconds; t < current; t++) {
      const bucket = this.#buckets.get(t);
      out.push({ t, stored: bucket?.stored ?? 0, refused: bucket?.refused ?? 0 });
    }
    return out;
  }

  #forget(current: number): void {
    for (const second of this.#buckets.keys()) if (second < current - this.seconds) this.#buckets.delete(second);
  }
}
