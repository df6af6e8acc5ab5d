import { fileURLToPath } from 'node:url';
import { OWN_EXTENSION, RUNTIME_FLAGS } from './child-command.ts';

const FLEET_PROCESS = fileURLToPath(new URL(`../firmware-sim/fleet-process${OWN_EXTENSION}`, import.meta.url));

/** The module the fleet process is forked from, the node flags it needs, and what removes it once loaded (idempotent). */
export interface FleetProcessEntry {
  file: string;
  execArgv: string[];
  cleanup(): void;
}

/**
 * In the package the fleet process is plain JS already. From sources it is compiled
 * (launcher/bundle-sources.mjs) rather than run through tsx, which alone holds about 35 MB in a
 * process: at 10,000 machines every megabyte of the two processes counts. Without esbuild it falls
 * back to tsx.
 */
export async function fleetProcessEntry(): Promise<FleetProcessEntry> {
  const fromSources = { file: FLEET_PROCESS, execArgv: [...RUNTIME_FLAGS], cleanup: () => undefined };
  if (OWN_EXTENSION !== '.ts') return fromSources;
  // Imported here, not above: the package has no bundler (and no sources to bundle).
  const { bundleSources } = await import('./bundle-sources.mjs');
  const bundle = await bundleSources(FLEET_PROCESS, 'fleet-process');
  if (bundle === null) return fromSources;
  return { file: bundle.file, execArgv: [], cleanup: () => bundle.remove() };
}
