import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fuzzIngest } from './ingest-fuzz.ts';
import { openIngestWorld, type IngestWorld } from './ingest-world.ts';
import { badCount, report } from './tally.ts';

/** CI form of `npm run fuzz` for the in-process pipeline; the seed is printed so a failure can be replayed. */
const RUNS = 8_000;
const seed = Date.now() % 2 ** 31;
let world: IngestWorld;

beforeAll(async () => {
  world = await openIngestWorld();
});
afterAll(async () => {
  await world?.close();
});

describe('fuzz: the ingest pipeline on real SQLite stores', () => {
  it(`refuses every invalid input with its reason and stores every valid one (seed ${seed})`, async () => {
    const groups = await fuzzIngest(world, RUNS, seed);
    console.log(report(groups));
    expect(groups.reduce((n, g) => n + g.tried, 0)).toBeGreaterThanOrEqual(RUNS);
    for (const group of groups) expect(group.failures, group.group).toEqual([]);
    expect(groups.reduce((n, g) => n + badCount(g), 0)).toBe(0);
  });
});
