import { setFlagsFromString } from 'node:v8';

/**
 * After each full collection V8 lets the old generation grow by a factor it picks from its own
 * speed, up to 4x for a heap this size. A process holding thousands of connections at a few
 * thousand events per second promotes garbage steadily, so `npm start` at 10,000 machines held
 * about 250 MB live and 550-650 MB of old generation before each full collection: 900+ MB RSS
 * for 250 MB of objects. A growth factor of 1.3 (what `--optimize-for-size` uses, without that
 * flag's slower code) held the same run to about 515 MB with the same events per second and the
 * same connect time (docs/benchmarks.md, "npm start under 700 MB"). V8 reads the flag at every
 * full collection, so setting it once the process runs is enough; it has to be a process's own
 * choice, made by its entry point, never by a library.
 */
const HEAP_GROWING_PERCENT = 30;

/**
 * The simulator's process (`npm run sim`) lets its old generation grow by 10 % only. Its machines
 * make events faster than one process can send them at the default speed, and every event that
 * waits for a PUBACK outlives a scavenge: the old generation fills with garbage at thousands of
 * events per second. At 10,000 machines (`npm run bench:sim`, quiet machine) V8's own growth
 * peaked at 354-435 MB, 20 % at 289 MB and 10 % at 265-282 MB, for 1-3 % fewer events per second
 * (docs/benchmarks.md, "On a quiet machine"). The fleet inside `npm start` runs with
 * `--optimize-for-size` instead (launcher/fleet-child.ts), a command line flag, which a process
 * started by `npm run sim` cannot set for itself.
 */
export const SIMULATOR_HEAP_GROWING_PERCENT = 10;

export function limitHeapGrowth(percent: number = HEAP_GROWING_PERCENT): void {
  setFlagsFromString(`--heap-growing-percent=${percent}`);
}
