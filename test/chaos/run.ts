/**
 * `npm run chaos [-- --quick] [-- --only NAME_PART] [-- --seed N]`: every chaos scenario on real
 * processes (our broker, the server on SQLite, simulated machines; Redis on 127.0.0.1:6379 for the
 * persistent and cluster rigs), with the fault durations of the issue (store down 10 s, 10 s bursts …;
 * --quick uses the CI durations). Each broker scenario runs several times (5, --quick 2), each run
 * with its own seed and fault length. Bounded: every wait has a deadline. Prints the books of each
 * run and ends with `scenarios=… lost=… duplicated=…` (scenarios counts runs); exits non-zero when a
 * run's books do not balance, naming the command that replays it.
 */
import { parseArgs } from 'node:util';
import { booksBalance, chaosReport, type ScenarioBooks } from './accounting.ts';
import { redisReachable } from '../support/redis.ts';
import { startRig, type Rig, type RigKind } from './rig.ts';
import { FULL, QUICK, runScenario, SCENARIOS, seedsOf } from './scenarios.ts';

const { values } = parseArgs({ options: { quick: { type: 'boolean', default: false }, only: { type: 'string' }, seed: { type: 'string' } } });
const form = values.quick ? QUICK : FULL;
const seed = Number(values.seed ?? Date.now() % 100_000);
const chosen = SCENARIOS.filter((s) => !values.only || s.name.includes(values.only));
const started = performance.now();
const runCount = chosen.reduce((n, s) => n + seedsOf(s, form, seed).length, 0);
console.log(`brewtel chaos: ${chosen.length} scenarios in ${runCount} runs, ${values.quick ? 'quick' : 'full'} form, seed ${seed}`);
if (!(await redisReachable())) console.log('Redis on 127.0.0.1:6379 is not reachable: the persistent and cluster rigs will fail');

const books: ScenarioBooks[] = [];
const failures: string[] = [];
let unfinished = 0;
for (const kind of ['single', 'persistent', 'cluster'] as const satisfies readonly RigKind[]) {
  const scenarios = chosen.filter((s) => s.rig === kind);
  if (scenarios.length === 0) continue;
  let rig: Rig;
  try {
    rig = await startRig(kind);
  } catch (error) {
    for (const s of scenarios) failures.push(`${s.name}: the ${kind} rig did not start: ${(error as Error).message.split('\n')[0]}`);
    unfinished += scenarios.reduce((n, s) => n + seedsOf(s, form, seed).length, 0);
    continue;
  }
  try {
    for (const scenario of scenarios) {
      const runs = seedsOf(scenario, form, seed);
      for (const [i, runSeed] of runs.entries()) {
        const label = runs.length > 1 ? `${scenario.name} #${i + 1}` : scenario.name;
        console.log(`--- ${label} (seed ${runSeed})`);
        const replay = `replay: npm run chaos -- ${values.quick ? '--quick ' : ''}--only '${scenario.name}' --seed ${seed}`;
        try {
          const result = await runScenario(scenario, rig, form, runSeed);
          books.push({ ...result, scenario: label });
          if (!booksBalance(result)) failures.push(`${label} (seed ${runSeed}): books do not balance (${result.note}); ${replay}`);
        } catch (error) {
          failures.push(`${label} (seed ${runSeed}): ${(error as Error).message.split('\n')[0]}; ${replay}`);
          unfinished++;
        }
      }
    }
  } finally {
    await rig.close();
  }
}

console.log(`ran ${((performance.now() - started) / 1000).toFixed(0)} s`);
for (const failure of failures) console.log(`FAILED ${failure}`);
console.log(chaosReport(books, unfinished));
if (failures.length > 0) process.exitCode = 1;
