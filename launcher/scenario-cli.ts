/**
 * `brewtel scenario run FILE [--junit FILE] [--json FILE] [--broker URL …]`: runs a scenario file
 * against the embedded stack (or an external broker), prints progress and a summary, writes the
 * reports asked for and exits 0 when every expectation held, 1 when one did not (named in the
 * output), 2 on bad usage or an invalid file, 130 after Ctrl-C (with the summary of what ran).
 * `brewtel scenario schema`: the JSON Schema of scenario files.
 */
import { writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { z } from 'zod';
import { readFlags, type Env } from '../cli/flags.ts';
import { readMappingFile } from './config-file.ts';
import { jsonReport, junitXml, summaryLine } from './scenario-report.ts';
import { runScenario } from './scenario-run.ts';
import { scenarioSchema, type Scenario } from './scenario-schema.ts';
import { logLevelSchema } from '../schema/log-level.ts';

export const USAGE = `Usage: brewtel scenario run FILE [options]
       brewtel scenario schema

  run FILE              run the scenario in FILE (YAML or JSON) against an embedded stack
  schema                print the JSON Schema of scenario files

Options of run:
  --junit FILE          write a JUnit XML report (one test case per step and per expectation)
  --json FILE           write the whole outcome as JSON, with command latency percentiles
  --broker URL          use this MQTT broker instead of the embedded one (the server's ingest
  --broker-username U   logs in with U and P; machines log in with their device credentials)
  --broker-password P
  --server URL          run against a server elsewhere (its HTTP API; needs --broker and an admin
  --token T             token, also from BREWTEL_TOKEN): machines are simulated here, facts come from
                        its API; outages cannot be made from outside
  --log-level LEVEL     the stack's logs on stderr (default silent)
  -h, --help            this text

Exit codes: 0 every expectation held, 1 one did not (each named in the output), 2 bad usage or an
invalid scenario file, 130 interrupted (Ctrl-C; the summary still prints). Examples: examples/scenarios/.`;

/** The JSON Schema document of scenario files, as `npm run schema:export` writes it too. */
export function scenarioJsonSchema(): Record<string, unknown> {
  return { $id: 'urn:brewtel:schema:v1:brewtel-scenario', ...z.toJSONSchema(scenarioSchema, { io: 'input', unrepresentable: 'any' }) };
}

/** Reads and validates a scenario file; errors name the file and the setting's path. */
export function loadScenario(path: string): Scenario {
  const values = readMappingFile(path, 'scenario file');
  const parsed = scenarioSchema.safeParse(values);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  throw new Error(`${path}: ${(issue?.path ?? []).map(String).join('.') || '(top)'}: ${issue?.message ?? 'invalid scenario'}`);
}

export async function main(argv: readonly string[], env: Env): Promise<number> {
  const [action, file, ...rest] = argv;
  if (action === '--help' || action === '-h') {
    console.log(USAGE);
    return 0;
  }
  if (action === 'schema' && file === undefined) {
    console.log(JSON.stringify(scenarioJsonSchema(), null, 2));
    return 0;
  }
  if (action !== 'run' || file === undefined || file.startsWith('-')) {
    console.error(`error: ${action === 'run' ? 'scenario run needs a FILE' : 'scenario needs run FILE or schema'}\n(see brewtel scenario --help)`);
    return 2;
  }
  const flags = readFlags(rest, {
    junit: { type: 'string' },
    json: { type: 'string' },
    broker: { type: 'string' },
    'broker-username': { type: 'string' },
    'broker-password': { type: 'string' },
    server: { type: 'string' },
    token: { type: 'string' },
    'log-level': { type: 'string' },
  });
  if (flags.help) {
    console.log(USAGE);
    return 0;
  }
  if ('error' in flags) {
    console.error(`error: ${flags.error}\n(see brewtel scenario --help)`);
    return 2;
  }
  const { values } = flags;
  let scenario: Scenario;
  try {
    scenario = loadScenario(resolve(file));
  } catch (error) {
    console.error(`error: ${(error as Error).message}`);
    return 2;
  }
  const logLevel = logLevelSchema.safeParse(values['log-level'] ?? 'silent');
  if (!logLevel.success) {
    console.error('error: --log-level: fatal|error|warn|info|debug|trace|silent');
    return 2;
  }

  const token = values.token ?? env.BREWTEL_TOKEN;
  if (values.server !== undefined && (values.broker === undefined || token === undefined)) {
    console.error('error: --server needs --broker URL and --token T (or BREWTEL_TOKEN)\n(see brewtel scenario --help)');
    return 2;
  }
  const remote = values.server === undefined ? undefined : { httpUrl: values.server, adminToken: token!, mqttUrl: values.broker! };
  const interrupt = new AbortController();
  const onInterrupt = (): void => interrupt.abort();
  process.once('SIGINT', onInterrupt);
  process.once('SIGTERM', onInterrupt);
  try {
    const outcome = await runScenario(scenario, {
      signal: interrupt.signal,
      progress: (line) => process.stderr.write(`${line}\n`),
      harness: {
        logLevel: logLevel.data,
        ...(values.broker === undefined || remote
          ? {}
          : { broker: { url: values.broker, username: values['broker-username'] ?? 'svc-ingest', password: values['broker-password'] ?? '' } }),
      },
      ...(remote ? { remote } : {}),
    });
    if (values.junit !== undefined) await writeFile(values.junit, junitXml(outcome));
    if (values.json !== undefined) await writeFile(values.json, jsonReport(outcome));
    const unmet = [
      ...outcome.steps.flatMap((s) => [
        ...(s.error ? [`${s.name}: ${s.error}`] : []),
        ...s.expectations.filter((j) => !j.passed).map((j) => `${s.name}: ${j.message}`),
      ]),
      ...outcome.expectations.filter((j) => !j.passed).map((j) => `at the end: ${j.message}`),
    ];
    console.log(
      outcome.passed ? `${scenario.name}: every expectation held` : `${scenario.name}: ${unmet.length} unmet\n${unmet.map((u) => `  - ${u}`).join('\n')}`,
    );
    console.log(summaryLine(outcome));
    if (outcome.interrupted) return 130;
    return outcome.passed ? 0 : 1;
  } catch (error) {
    console.error(`error: the stack did not start: ${(error as Error).message}`);
    return 1;
  } finally {
    process.off('SIGINT', onInterrupt);
    process.off('SIGTERM', onInterrupt);
  }
}
