import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { booksBalance, chaosReport, type ScenarioBooks } from './accounting.ts';
import { redisReachable } from '../support/redis.ts';
import { startRig, type Rig } from './rig.ts';
import { QUICK, runScenario, SCENARIOS } from './scenarios.ts';

/**
 * CI form of `npm run chaos`: every scenario, with short faults, on real processes (our broker on
 * Redis, the server on SQLite, simulated machines). The books of each must balance.
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

  for (const [i, scenario] of SCENARIOS.entries()) {
    if (scenario.rig !== kind) continue;
    it.skipIf(skip)(`${scenario.name}: published = stored + refused, nothing lost or stored twice`, async () => {
      const result = await runScenario(scenario, rig, QUICK, seed + i * 100);
      books.push(result);
      console.log(chaosReport([result]));
      expect(result, result.note).toMatchObject({ lost: 0, unaccounted: 0, duplicated: 0, buffered: 0, dropped: 0 });
      expect(booksBalance(result)).toBe(true);
    }, 90_000);
  }
});

afterAll(() => {
  if (books.length > 0) console.log(chaosReport(books));
});
