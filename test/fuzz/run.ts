/**
 * `npm run fuzz [-- --ingest N --stores sqlite,postgres --acl N --wire N --guesses N --seed S]`: the
 * full form of the fuzz and abuse suite (the CI form runs the same code with smaller counts inside
 * `npm test`). The ingest part runs on each store flavour (PostgreSQL when it is reachable at
 * 127.0.0.1:5432, always under CI=true). Bounded by the counts. Prints one table and ends with
 * `tried=… crashes=… wrongly_accepted=… wrongly_refused=…`; exits non-zero when any input came out wrong.
 */
import { parseArgs } from 'node:util';
import { fuzzAcl } from './acl-fuzz.ts';
import { bruteForce } from './brute-force.ts';
import { fuzzIngest } from './ingest-fuzz.ts';
import { fuzzFlavours, openIngestWorld, type StoreFlavour } from './ingest-world.ts';
import { badCount, report, type GroupTally } from './tally.ts';
import { abuseOverWire } from './wire-abuse.ts';
import { fuzzWirePayloads } from './wire-payload-fuzz.ts';
import { openWireWorld } from './wire-world.ts';

const { values } = parseArgs({
  options: {
    ingest: { type: 'string', default: '100000' },
    stores: { type: 'string', default: 'sqlite,postgres' },
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
const wanted = values.stores
  .split(',')
  .map((s) => s.trim())
  .filter((s): s is StoreFlavour => s === 'sqlite' || s === 'postgres');
const flavours = await fuzzFlavours(wanted);
if (flavours.length < wanted.length) console.log('PostgreSQL is not reachable at 127.0.0.1:5432: the ingest part runs on SQLite only');
for (const flavour of flavours) {
  const ingestWorld = await openIngestWorld(flavour);
  try {
    const tallies = await fuzzIngest(ingestWorld, Number(values.ingest), seed);
    for (const tally of tallies) tally.group = `${tally.group} (${flavour})`;
    groups.push(...tallies);
  } finally {
    await ingestWorld.close();
  }
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
