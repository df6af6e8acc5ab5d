import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fuzzIngest } from './ingest-fuzz.ts';
import { fuzzFlavours, openIngestWorld, type IngestWorld } from './ingest-world.ts';
import { badCount, report } from './tally.ts';

/** CI form of `npm run fuzz` for the in-process pipeline, on both stores; the seed is printed so a failure can be replayed. */
const RUNS = 8_000;
const seed = Date.now() % 2 ** 31;

describe.each(await fuzzFlavours())('fuzz: the ingest pipeline on real %s stores', (flavour) => {
  let world: IngestWorld;

  beforeAll(async () => {
    world = await openIngestWorld(flavour);
  }, 60_000);
  afterAll(async () => {
    await world?.close();
  });

  it(`refuses every invalid input with its reason and stores every valid one (seed ${seed})`, async () => {
    const groups = await fuzzIngest(world, RUNS, seed);
    console.log(`${flavour}:\n${report(groups)}`);
    expect(groups.reduce((n, g) => n + g.tried, 0)).toBeGreaterThanOrEqual(RUNS);
    for (const group of groups) expect(group.failures, group.group).toEqual([]);
    expect(groups.reduce((n, g) => n + badCount(g), 0)).toBe(0);
  }, 300_000);
});
