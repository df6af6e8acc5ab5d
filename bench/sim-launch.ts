/**
 * `npm run bench:sim` starts here. The fleet is measured as it would be deployed: compiled to plain
 * JavaScript and run by node without a TypeScript loader in the process (tsx alone holds about
 * 35 MB, which is not the simulator's memory). This compiles bench/sim.ts with esbuild into
 * node_modules/.cache (dependencies stay external, resolved from node_modules as usual), then runs it
 * with --expose-gc (a clean baseline) and otherwise V8's defaults, as `npm run sim` runs; bench/sim.ts
 * limits the heap's growth as the simulator's command does. Arguments pass through.
 */
import { spawn } from 'node:child_process';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { compileBenchEntry } from './compile-entry.ts';

const benchDir = dirname(fileURLToPath(import.meta.url));
const outfile = await compileBenchEntry('bench/sim.ts', 'bench-sim');

const child = spawn(process.execPath, ['--expose-gc', outfile, ...process.argv.slice(2)], {
  stdio: 'inherit',
  env: { ...process.env, BREWTEL_BENCH_DIR: benchDir },
});
child.on('exit', (code, signal) => {
  process.exitCode = code ?? (signal ? 1 : 0);
});
