/**
 * `npm run fuzz [-- --ingest N --acl N --wire N --guesses N --seed S]`: the full form of the fuzz and
 * abuse suite (the CI form runs the same code with smaller counts inside `npm test`). Bounded by the
 * counts. Prints one table and ends with `tried=… crashes=… wrongly_accepted=… wrongly_refused=…`;
 * exits non-zero when any input came out wrong.
 */
import { parseArgs } from 'node:util';
import { fuzzAcl } from './acl-fuzz.ts';
import { bruteForce } from './brute-force.ts';
import { fuzzIngest } from './ingest-fuzz.ts';
import { openIngestWorld } from './ingest-world.ts';
import { badCount, report, type GroupTally } from './tally.ts';
import { abuseOverWire } from './wire-abuse.ts';
import { fuzzWirePayloads } from './wire-payload-fuzz.ts';
import { openWireWorld } from './wire-world.ts';

const { values } = parseArgs({
  options: {
    ingest: { type: 'string', default: '100000' },
    acl: { type: 'string', default: '200000' },
    // Two devices under the broker's default publish burst (2,000 per client).
    wire: { type: 'string', default: '3000' },
    guesses: { type: 'string', default: '40' },
    seed: { type: 'string', default: String(Date.now() % 2 ** 31) },
  },
});
const seed = Number(values.seed);
const started = performance.now();
console.log(`brewtel fuzz: seed ${seed} (replay with --seed ${seed})`);

const groups: GroupTally[] = [...fuzzAcl(Number(values.acl), seed)];
const ingestWorld = await openIngestWorld();
try {
  groups.push(...(await fuzzIngest(ingestWorld, Number(values.ingest), seed)));
} finally {
  await ingestWorld.close();
}
const wireWorld = await openWireWorld();
try {
  groups.push(await fuzzWirePayloads(wireWorld, Number(values.wire), seed));
  groups.push(...(await abuseOverWire(wireWorld)));
} finally {
  await wireWorld.close();
}
groups.push(await bruteForce(Number(values.guesses)));

console.log(`ran ${((performance.now() - started) / 1000).toFixed(1)} s`);
console.log(report(groups));
if (groups.some((g) => badCount(g) > 0)) process.exitCode = 1;
