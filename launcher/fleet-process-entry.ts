import { mkdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { OWN_EXTENSION, RUNTIME_FLAGS } from './child-command.ts';

const FLEET_PROCESS = fileURLToPath(new URL(`../firmware-sim/fleet-process${OWN_EXTENSION}`, import.meta.url));
const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

/** The module the fleet process is forked from, the node flags it needs, and what removes it once loaded (idempotent). */
export interface FleetProcessEntry {
  file: string;
  execArgv: string[];
  cleanup(): void;
}

let compiled = 0;

/**
 * In the package the fleet process is plain JS already. From sources it is compiled with esbuild
 * (a devDependency, there from sources) into one module under node_modules/.cache, dependencies
 * left external, rather than run through tsx: tsx alone holds about 35 MB in a process, and at
 * 10,000 machines every megabyte of the two processes counts. Without esbuild it falls back to tsx.
 */
export async function fleetProcessEntry(): Promise<FleetProcessEntry> {
  const fromSources = { file: FLEET_PROCESS, execArgv: [...RUNTIME_FLAGS], cleanup: () => undefined };
  if (OWN_EXTENSION !== '.ts') return fromSources;
  let esbuild: typeof import('esbuild');
  try {
    esbuild = await import('esbuild');
  } catch {
    return fromSources;
  }
  const outDir = join(ROOT, 'node_modules', '.cache', 'brewtel');
  mkdirSync(outDir, { recursive: true });
  // One file per fleet: tests start several stacks at once, and none may read a file another is writing.
  const file = join(outDir, `fleet-process-${process.pid}-${++compiled}.mjs`);
  await esbuild.build({
    entryPoints: [FLEET_PROCESS],
    outfile: file,
    bundle: true,
    packages: 'external',
    platform: 'node',
    format: 'esm',
    target: 'node20',
    logLevel: 'warning',
  });
  // esbuild keeps its service process (about 20 MB) running for further builds; there are none.
  await esbuild.stop();
  let removed = false;
  const cleanup = (): void => {
    if (removed) return;
    removed = true;
    rmSync(file, { force: true });
  };
  return { file, execArgv: [], cleanup };
}
