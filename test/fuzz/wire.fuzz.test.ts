import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bruteForce } from './brute-force.ts';
import { badCount, report } from './tally.ts';
import { abuseOverWire } from './wire-abuse.ts';
import { fuzzWirePayloads } from './wire-payload-fuzz.ts';
import { openWireWorld, type WireWorld } from './wire-world.ts';

/** CI form of the over-the-wire part of `npm run fuzz`: generated payloads and hostile clients on real sockets. */
const RUNS = 300;
const seed = Date.now() % 2 ** 31;
let world: WireWorld;

beforeAll(async () => {
  world = await openWireWorld();
});
afterAll(async () => {
  await world?.close();
});

describe('fuzz and abuse over real sockets: our broker in front of the server', () => {
  it(`payloads from real devices come out as the oracle says (seed ${seed})`, async () => {
    const tally = await fuzzWirePayloads(world, RUNS, seed);
    console.log(report([tally]));
    expect(tally.tried).toBe(RUNS);
    expect(tally.failures).toEqual([]);
    expect(badCount(tally)).toBe(0);
  });

  it('turns hostile clients away and stores nothing they send', async () => {
    const groups = [...(await abuseOverWire(world)), await bruteForce(20)];
    console.log(report(groups));
    for (const group of groups) expect(group.failures, group.group).toEqual([]);
    expect(groups.reduce((n, g) => n + badCount(g), 0)).toBe(0);
  });
});
