#!/usr/bin/env node
/**
 * `brewtel`: the package's command line, one subcommand per npm script of the repository. Each
 * subcommand is an entry point's main(argv, env), loaded only when asked for, so `brewtel sim` never
 * loads the server's stores. Commands and exit codes: docs/cli.md.
 */
import { runIfEntry, type Main } from '../cli/entry.ts';
import type { Env } from '../cli/flags.ts';

interface Subcommand {
  summary: string;
  load(): Promise<Main>;
}

/** The subcommands; a new one is one more entry here and a section in docs/cli.md. */
const SUBCOMMANDS: Readonly<Record<string, Subcommand>> = {
  start: { summary: 'embedded broker and server, and a demo fleet in a process of its own (npm start)', load: async () => (await import('./main.ts')).main },
  sim: { summary: 'a fleet of simulated machines against any MQTT broker (npm run sim)', load: async () => (await import('../firmware-sim/cli.ts')).main },
  broker: { summary: 'the MQTT broker alone', load: async () => (await import('../broker/main.ts')).main },
  server: { summary: 'the server alone: HTTP API, dashboard, ingest, regional stores', load: async () => (await import('../server/main.ts')).main },
  directory: {
    summary: 'the global directory of regional planes: device id -> home region, provisioning to the home plane',
    load: async () => (await import('../server/directory/main.ts')).main,
  },
  config: {
    summary: "print the effective configuration with its sources, or the config file's JSON Schema",
    load: async () => (await import('./config-cli.ts')).main,
  },
  scenario: {
    summary: 'run a scenario file (fleet, timeline, expectations); JUnit and JSON reports for CI',
    load: async () => (await import('./scenario-cli.ts')).main,
  },
  compliance: {
    summary: "print a server's compliance report; exit 1 when an invariant is broken (npm run compliance)",
    load: async () => (await import('../server/compliance-cli.ts')).main,
  },
};

export const USAGE = `Usage: brewtel <command> [options]

Commands:
${Object.entries(SUBCOMMANDS)
  .map(([name, command]) => `  ${name.padEnd(12)}${command.summary}`)
  .join('\n')}

brewtel <command> --help shows a command's options. Exit codes: 0 done, 1 failed, 2 bad usage
(compliance: 1 also when an invariant is broken; scenario: 1 when an expectation is unmet, 130 after Ctrl-C).`;

/** Picks the subcommand and hands it the rest of the arguments. */
export async function main(argv: readonly string[], env: Env): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    console.log(USAGE);
    return name === undefined ? 2 : 0;
  }
  const command = Object.hasOwn(SUBCOMMANDS, name) ? SUBCOMMANDS[name] : undefined;
  if (command === undefined) {
    console.error(`error: unknown command "${name}"\n(see brewtel --help)`);
    return 2;
  }
  return (await command.load())(rest, env);
}

runIfEntry(import.meta.url, 'brewtel', main);
