/**
 * `npm run chaos [-- --quick] [-- --only NAME_PART]`: every chaos scenario on real processes (our
 * broker, the server on SQLite, simulated machines; Redis on 127.0.0.1:6379 for the persistent and
 * cluster rigs), with the fault durations of the issue (store down 10 s, 10 s bursts …; --quick uses
 * the CI durations). Bounded: every wait has a deadline. Prints the books of each scenario and ends
 * with `scenarios=… lost=… duplicated=…`; exits non-zero when a scenario's books do not balance.
 */
import { parseArgs } from 'node:util';
import { booksBalance, chaosReport, type ScenarioBooks } from './accounting.ts';
import { redisReachable } from '../support/redis.ts';
import { startRig, type RigKind } from './rig.ts';
import { FULL, QUICK, runScenario, SCENARIOS } from './scenarios.ts';

const { values } = parseArgs({ options: { quick: { type: 'boolean', default: false }, only: { type: 'string' }, seed: { type: 'string' } } });
const form = values.quick ? QUICK : FULL;
const seed = Number(values.seed ?? Date.now() % 100_000);
const chosen = SCENARIOS.filter((s) => !values.only || s.name.includes(values.only));
const started = performance.now();
console.log(`brewtel chaos: ${chosen.length} scenarios, ${values.quick ? 'quick' : 'full'} form, seed ${seed}`);
if (!(await redisReachable())) console.log('Redis on 127.0.0.1:6379 is not reachable: the persistent and cluster rigs will fail');

const books: ScenarioBooks[] = [];
const failures: string[] = [];
let unfinished = 0;
for (const kind of ['single', 'persistent', 'cluster'] as const satisfies readonly RigKind[]) {
  const scenarios = chosen.filter((s) => s.rig === kind);
  if (scenarios.length === 0) continue;
  let rig;
  try {
    rig = await startRig(kind);
  } catch (error) {
    for (const s of scenarios) failures.push(`${s.name}: the ${kind} rig did not start: ${(error as Error).message.split('\n')[0]}`);
    unfinished += scenarios.length;
    continue;
  }
  try {
    for (const [i, scenario] of scenarios.entries()) {
      console.log(`--- ${scenario.name}`);
      try {
        const result = await runScenario(scenario, rig, form, seed + i * 100);
        books.push(result);
        if (!booksBalance(result)) failures.push(`${scenario.name}: books do not balance (${result.note})`);
      } catch (error) {
        failures.push(`${scenario.name}: ${(error as Error).message.split('\n')[0]}`);
        unfinished++;
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
