/**
 * `npm run bench:harness [-- --runs N --machines N]`: how long createHarness takes until it resolves
 * (stores migrated, server, broker and ingest up, every machine's first connection attempt made),
 * and stop() after it. The target of issue 15 is under 1.5 s with 10 machines on the 2-core machine.
 * Run from sources through tsx; the first run also pays for loading the modules and is shown apart.
 */
import { parseArgs } from 'node:util';
import { createHarness } from '../launcher/harness.ts';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '5' }, machines: { type: 'string', default: '10' } } });
const runs = Number(values.runs);
const machines = Number(values.machines);
const ready: number[] = [];
const stopped: number[] = [];
for (let run = 0; run < runs; run++) {
  const t0 = performance.now();
  const h = await createHarness({ machines, regions: ['eu', 'us', 'cn'], seed: run + 1 });
  const t1 = performance.now();
  await h.stop();
  const t2 = performance.now();
  ready.push(t1 - t0);
  stopped.push(t2 - t1);
  process.stdout.write(`run ${run + 1}/${runs}: ready ${(t1 - t0).toFixed(0)} ms, stopped ${(t2 - t1).toFixed(0)} ms\n`);
}
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? Number.NaN;
const warm = ready.slice(1);
process.stdout.write(
  `machines=${machines} runs=${runs} first_ready_ms=${ready[0]?.toFixed(0)} median_ready_ms=${median(warm.length > 0 ? warm : ready).toFixed(0)} median_stop_ms=${median(stopped).toFixed(0)}\n`,
);
