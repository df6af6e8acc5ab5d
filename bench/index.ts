/**
 * `npm run bench [-- --quick] [-- --only broker,ingest,sim,processes]`: every benchmark of the project in
 * sequence, each in its own process with a deadline, then one table, the results written to
 * bench/results/latest.{json,md} (quick.{json,md} for the quick form) and one summary line.
 *
 * Full form (run it on a quiet machine; about 20-30 minutes on 2 cores):
 *   broker vs Mosquitto; ingest end to end on SQLite and PostgreSQL with the broker and store
 *   ceilings and p50/p99 latency at 2,000/s, plus latency at 500/s and 10,000/s; ingest CPU per
 *   event by stage; end-to-end ingest at 1x, 4x and 16x fleet size (60, 240, 960 devices); the simulator
 *   at 1x, 4x and 16x fleet size (500, 2,000, 8,000 machines); one fleet of 4,000 as one simulator
 *   process against one broker node and as two slices against a two-node broker cluster.
 * Quick form: the same steps with tiny counts, to check the suite runs (numbers mean little).
 * A step whose npm script does not exist yet is listed as skipped.
 */
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { machineDescription, markdown, tableRows, textTable } from './bench-report.ts';
import { runStep, type BenchStep, type StepResult } from './bench-step.ts';

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    only: { type: 'string', default: 'broker,ingest,sim,processes' },
    'out-dir': { type: 'string' },
  },
});
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const QUICK = values.quick;
const ONLY = new Set(values.only.split(','));
const OUT_DIR = values['out-dir'] ?? fileURLToPath(new URL('./results/', import.meta.url));
const DEADLINE_MS = QUICK ? 180_000 : 1_200_000;
// bench:sim refuses fleets so small that its default event rate needs a speed above 1,000,000.
const FLEET_BASE = QUICK ? 20 : 500;
const SCALES = [1, 4, 16];

const plan: (BenchStep & { group: string })[] = [
  { group: 'broker', name: 'broker vs mosquitto', script: 'bench:broker', args: QUICK ? ['--messages', '2000'] : [], scale: null },
  {
    group: 'ingest',
    name: `ingest e2e + ceilings, latency @${QUICK ? 500 : '2,000'}/s`,
    script: 'bench:ingest',
    args: QUICK ? ['--events', '2000', '--latency-seconds', '1', '--rate', '500', '--stores', 'sqlite'] : ['--rate', '2000'],
    scale: null,
  },
  ...(QUICK
    ? []
    : [500, 10_000].map((rate) => ({
        group: 'ingest',
        name: `ingest latency @${rate.toLocaleString('en-US')}/s`,
        script: 'bench:ingest',
        args: ['--events', '5000', '--stores', 'sqlite,postgres', '--rate', String(rate), '--latency-seconds', '5'],
        scale: null,
      }))),
  // How ingest cost grows with the fleet: the same end-to-end run with 20, 80 and 320 devices per region.
  ...(QUICK
    ? []
    : SCALES.map((scale) => ({
        group: 'ingest',
        name: `ingest e2e, ${3 * 20 * scale} devices`,
        script: 'bench:ingest',
        args: ['--events', '10000', '--stores', 'sqlite,postgres', '--latency-seconds', '3', '--devices-per-region', String(20 * scale)],
        scale,
      }))),
  {
    group: 'ingest',
    name: 'ingest CPU per event, stage by stage',
    script: 'bench:ingest-cpu',
    args: QUICK ? ['--events', '2000', '--stores', 'sqlite'] : [],
    scale: null,
  },
  ...SCALES.map((scale) => ({
    group: 'sim',
    name: `simulator ${FLEET_BASE * scale} machines`,
    script: 'bench:sim',
    args: ['--machines', String(FLEET_BASE * scale), '--seconds', QUICK ? '2' : '15'],
    scale,
  })),
  {
    group: 'processes',
    name: 'one fleet, 1 process vs 2 slices + 2 broker nodes',
    script: 'bench:processes',
    args: QUICK ? ['--machines', '100', '--seconds', '3'] : [],
    scale: null,
  },
];

const scripts = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { scripts: Record<string, string> }).scripts;
const startedAt = new Date().toISOString();
const machine = machineDescription();
const started = performance.now();
const results: StepResult[] = [];
for (const step of plan.filter((s) => ONLY.has(s.group))) {
  if (!(step.script in scripts)) {
    results.push({ ...step, status: 'skipped', note: `no "${step.script}" script in package.json yet`, seconds: 0, summaries: [], output: '' });
    continue;
  }
  console.log(`\n=== ${step.name}: npm run ${step.script} -- ${step.args.join(' ')}`);
  results.push(await runStep(step, DEADLINE_MS, ROOT));
}

/** The figures a reader wants first, from whichever steps produced them. */
function headline(): string {
  const pick = (name: string, key: string, where: (s: Record<string, string>) => boolean = () => true): string | undefined =>
    results.find((r) => r.name === name)?.summaries.find(where)?.[key];
  const pairs: [string, string | undefined][] = [
    ['broker_ratio', pick(plan[0]!.name, 'ratio')],
    ['broker_v5_ratio', pick(plan[0]!.name, 'v5_ratio')],
    ['ingest_sqlite_eps', pick(plan[1]!.name, 'e2e_eps', (s) => s.store === 'sqlite')],
    ['ingest_sqlite_ratio', pick(plan[1]!.name, 'ratio', (s) => s.store === 'sqlite')],
    ['ingest_postgres_ratio', pick(plan[1]!.name, 'ratio', (s) => s.store === 'postgres')],
    ['p99_ms', pick(plan[1]!.name, 'p99_ms')],
    ...SCALES.map((scale): [string, string | undefined] => [
      `sim_mb_per_machine_${scale}x`,
      results.find((r) => r.scale === scale && r.script === 'bench:sim')?.summaries[0]?.mb_per_machine,
    ]),
  ];
  const count = (status: StepResult['status']): number => results.filter((r) => r.status === status).length;
  return [
    `steps=${results.length} ok=${count('ok')} failed=${count('failed') + count('timed_out')} skipped=${count('skipped')}`,
    ...pairs.filter(([, v]) => v !== undefined).map(([k, v]) => `${k}=${v}`),
    `seconds=${((performance.now() - started) / 1000).toFixed(0)}`,
  ].join(' ');
}

const rows = tableRows(results);
const summary = headline();
const command = `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`;
const base = `${OUT_DIR.replace(/\/$/, '')}/${QUICK ? 'quick' : 'latest'}`;
mkdirSync(OUT_DIR, { recursive: true });
writeFileSync(`${base}.json`, `${JSON.stringify({ startedAt, command, machine, summary, steps: results }, null, 2)}\n`);
writeFileSync(`${base}.md`, markdown(rows, machine, command, startedAt, summary));
console.log(`\nbench: ${results.length} steps, results in ${base}.json and ${base}.md`);
console.log(textTable(rows));
console.log(summary);
if (results.some((r) => r.status === 'failed' || r.status === 'timed_out')) process.exitCode = 1;
