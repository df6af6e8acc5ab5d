import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';

/** The names looked for in the working directory when no --config is given, first found wins. */
export const CONFIG_FILE_NAMES = ['brewtel.config.json', 'brewtel.config.yaml', 'brewtel.config.yml'] as const;

export interface ConfigFile {
  path: string;
  /** The file's content as written; launcherConfigSchema judges it (with flags and env on top). */
  values: Record<string, unknown>;
}

/**
 * `--config FILE`, else the first of CONFIG_FILE_NAMES in `cwd`, else none. JSON or YAML by the
 * file's extension. A file that cannot be read or parsed, or is not a mapping, is an error naming it.
 */
export function loadConfigFile(explicit: string | undefined, cwd: string): ConfigFile | null {
  const path = explicit !== undefined ? resolve(cwd, explicit) : CONFIG_FILE_NAMES.map((name) => join(cwd, name)).find((candidate) => existsSync(candidate));
  if (path === undefined) return null;
  return { path, values: readMappingFile(path, 'config file') };
}

/**
 * A JSON or YAML file (by its extension) holding a mapping at the top, as config and scenario files
 * do; an empty file is an empty mapping. Errors name the file and say what is wrong with it.
 */
export function readMappingFile(path: string, what: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new Error(`${path}: cannot read the ${what} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
  }
  let values: unknown;
  try {
    values = path.endsWith('.json') ? JSON.parse(text) : parseYaml(text);
  } catch (error) {
    throw new Error(`${path}: not valid ${path.endsWith('.json') ? 'JSON' : 'YAML'}: ${(error as Error).message.split('\n')[0]}`);
  }
  if (values === null || values === undefined) return {};
  if (typeof values !== 'object' || Array.isArray(values)) throw new Error(`${path}: expected a mapping at the top`);
  return values as Record<string, unknown>;
}
