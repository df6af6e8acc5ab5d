/**
 * `brewtel config print [options of brewtel start]`: the effective configuration of `brewtel start`
 * (defaults, config file, environment, flags), one setting a line with where it came from, secrets
 * masked. `brewtel config schema`: the JSON Schema of brewtel.config.(json|yaml).
 */
import { z } from 'zod';
import type { Env } from '../cli/flags.ts';
import { launcherConfigSchema } from './config.ts';
import { describeConfig } from './effective-config.ts';
import { readLauncherSettings } from './flags.ts';

export const USAGE = `Usage: brewtel config print [--config FILE] [options of brewtel start]
       brewtel config schema

  print    the effective configuration of brewtel start, one setting a line with its source
           (default, file, env, flag); tokens, passwords and secrets are masked
  schema   the JSON Schema of brewtel.config.json / brewtel.config.yaml

The config file is --config FILE, else brewtel.config.json, .yaml or .yml in the working
directory. It holds the launcher's settings at the top (machines, regions, dataDir, stores, …) and
the sections broker, server and fleet; flags and the environment override it.`;

/** The JSON Schema document of the config file, as `npm run schema:export` writes it too. */
export function configJsonSchema(): Record<string, unknown> {
  return { $id: 'urn:brewtel:schema:v1:brewtel-config', ...z.toJSONSchema(launcherConfigSchema, { io: 'input', unrepresentable: 'any' }) };
}

export async function main(argv: readonly string[], env: Env): Promise<number> {
  const [action, ...rest] = argv;
  if (action === '--help' || action === '-h') {
    console.log(USAGE);
    return 0;
  }
  if (action === 'schema' && rest.length === 0) {
    console.log(JSON.stringify(configJsonSchema(), null, 2));
    return 0;
  }
  if (action !== 'print') {
    console.error(`error: ${action === undefined ? 'config needs print or schema' : `unknown config action "${action}"`}\n(see brewtel config --help)`);
    return 2;
  }
  const settings = readLauncherSettings(rest, env, { cwd: process.cwd() });
  if (settings.help) {
    console.log(USAGE);
    return 0;
  }
  if ('error' in settings) {
    console.error(`error: ${settings.error}\n(see brewtel config --help)`);
    return 2;
  }
  const { config, layers, file } = settings.config;
  console.log(`# config file: ${file ? file.path : 'none'}`);
  for (const line of describeConfig(config, layers)) console.log(line);
  return 0;
}
