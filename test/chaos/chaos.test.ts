import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { booksBalance, chaosReport, type ScenarioBooks } from './accounting.ts';
import { redisReachable } from '../support/redis.ts';
import { startRig, type Rig } from './rig.ts';
import { QUICK, runScenario, SCENARIOS, seedsOf } from './scenarios.ts';

/**
 * CI form of `npm run chaos`: every scenario, with short faults, on real processes (our broker on
 * Redis, the server on SQLite, simulated machines); each broker scenario twice. The books of each
 * run must balance; a failure names the seed that replays it.
 */
const redis = await redisReachable();
if (!redis && process.env.CI === 'true') throw new Error('Redis on 127.0.0.1:6379 is required under CI');
const seed = Date.now() % 100_000;
const books: ScenarioBooks[] = [];

// The single rig needs no Redis; the persistent and cluster ones do.
describe.each(['single', 'persistent', 'cluster'] as const)('chaos on the %s broker rig', (kind) => {
  const skip = kind !== 'single' && !redis;
  let rig: Rig;
  beforeAll(async () => {
    if (!skip) rig = await startRig(kind);
  });
  afterAll(async () => {
    await rig?.close();
  });

  for (const scenario of SCENARIOS) {
    if (scenario.rig !== kind) continue;
    // Broker scenarios run more than once, each run with its own seed (the losses found there were intermittent).
    const runs = seedsOf(scenario, QUICK, seed);
    for (const [n, runSeed] of runs.entries()) {
      const label = runs.length > 1 ? `${scenario.name} #${n + 1}` : scenario.name;
      it.skipIf(skip)(
        `${label}: published = stored + refused, nothing lost or stored twice`,
        async () => {
          const result = { ...(await runScenario(scenario, rig, QUICK, runSeed)), scenario: label };
          books.push(result);
          console.log(chaosReport([result]));
          const replay = `seed ${runSeed}; replay: npm run chaos -- --quick --only '${scenario.name}' --seed ${seed}`;
          expect(result, `${result.note} (${replay})`).toMatchObject({ lost: 0, unaccounted: 0, duplicated: 0, buffered: 0, dropped: 0 });
          expect(booksBalance(result), replay).toBe(true);
        },
        90_000,
      );
    }
  }
});

afterAll(() => {
  if (books.length > 0) console.log(chaosReport(books));
});
