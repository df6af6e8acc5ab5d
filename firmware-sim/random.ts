/**
 * Seeded randomness. Every machine owns its own streams derived from (fleet seed, machine index, purpose),
 * so one machine's behaviour never depends on how many draws another machine made.
 */
export interface Rng {
  /** Uniform in [0, 1). */
  next(): number;
}

/**
 * mulberry32: tiny, fast, good enough statistically for a simulation (not for secrets). A class
 * rather than a closure: a machine holds several streams, and an object with one field is a third
 * of a closure with its context (a fleet of ten thousand holds seventy thousand of them).
 */
class Mulberry32 implements Rng {
  constructor(private state: number) {}

  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
}

export function createRng(seed: number): Rng {
  return new Mulberry32(seed >>> 0);
}

/** Mixes any number of integers and strings into one 32-bit seed (FNV-1a feed, murmur3 finaliser). */
export function deriveSeed(...parts: ReadonlyArray<number | string>): number {
  let h = 0x811c9dc5;
  const feed = (byte: number): void => {
    h = Math.imul(h ^ (byte & 0xff), 0x01000193);
  };
  for (const part of parts) {
    const text = typeof part === 'number' ? `n${part}` : `s${part}`;
    for (let i = 0; i < text.length; i++) {
      const code = text.charCodeAt(i);
      feed(code);
      feed(code >>> 8);
    }
    feed(0x1f);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

export const uniform = (rng: Rng, min: number, max: number): number => min + (max - min) * rng.next();

/** Integer in [min, max], both inclusive. */
export const intBetween = (rng: Rng, min: number, max: number): number => min + Math.floor(rng.next() * (max - min + 1));

export const chance = (rng: Rng, probability: number): boolean => rng.next() < probability;

export function pick<T>(rng: Rng, items: readonly T[]): T {
  const item = items[Math.floor(rng.next() * items.length)];
  if (item === undefined) throw new Error('pick from an empty list');
  return item;
}

/** Picks a key with probability proportional to its weight. */
export function weighted<K extends string>(rng: Rng, weights: Readonly<Partial<Record<K, number>>>): K {
  const entries = Object.entries(weights) as Array<[K, number]>;
  const total = entries.reduce((sum, [, w]) => sum + w, 0);
  let roll = rng.next() * total;
  for (const [key, w] of entries) {
    roll -= w;
    if (roll < 0) return key;
  }
  const last = entries[entries.length - 1];
  if (last === undefined) throw new Error('weighted pick from no weights');
  return last[0];
}

/** Box-Muller; one value per call keeps the stream position independent of call pairing. */
export function normal(rng: Rng, mean: number, sd: number): number {
  const u = 1 - rng.next();
  const v = rng.next();
  return mean + sd * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}

/** Exponentially distributed waiting time with the given mean. */
export const exponential = (rng: Rng, mean: number): number => -mean * Math.log(1 - rng.next());

const ALPHANUMERIC = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const LETTERS = ALPHANUMERIC.slice(0, 52);

export function randomString(rng: Rng, length: number, alphabet: 'letters' | 'alphanumeric' = 'alphanumeric'): string {
  const chars = alphabet === 'letters' ? LETTERS : ALPHANUMERIC;
  let out = '';
  for (let i = 0; i < length; i++) out += chars[Math.floor(rng.next() * chars.length)];
  return out;
}
