import type { Rng } from './random.ts';

/**
 * UUIDv7 (RFC 9562) from the simulated clock and a seeded stream, so the same seed and clock give the
 * same ids. Within one millisecond the 12-bit rand_a field counts up (RFC 9562 method 1), which keeps
 * one device's ids strictly ordered; on overflow the timestamp borrows the next millisecond.
 */
export function createUuidV7Generator(rng: Rng): (simMs: number) => string {
  let lastMs = -1;
  let counter = 0;

  return (simMs: number): string => {
    let ms = Math.max(0, Math.floor(simMs));
    if (ms <= lastMs) {
      ms = lastMs;
      counter++;
      if (counter > 0xfff) {
        ms++;
        counter = Math.floor(rng.next() * 0x800);
      }
    } else {
      // Start low in the counter space so a burst in one millisecond rarely overflows.
      counter = Math.floor(rng.next() * 0x800);
    }
    lastMs = ms;
    const timeHex = hex(ms, 12);
    const variantAndRand = 0x8000 | Math.floor(rng.next() * 0x4000);
    return `${timeHex.slice(0, 8)}-${timeHex.slice(8, 12)}-7${hex(counter, 3)}-${hex(variantAndRand, 4)}-${hex(random32(rng) & 0xffff, 4)}${hex(random32(rng), 8)}`;
  };
}

// At module level: every machine holds a generator, and helpers inside it would be closures per machine.
function hex(value: number, digits: number): string {
  return value.toString(16).padStart(digits, '0');
}
function random32(rng: Rng): number {
  return Math.floor(rng.next() * 0x1_0000_0000);
}
