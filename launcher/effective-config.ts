/**
 * Where each setting of `brewtel start` comes from: defaults, then the config file, then the
 * environment, then flags, each layer over the one before. Also what `brewtel config print` shows:
 * every value of the effective config with its source, secrets masked.
 */
export type ConfigSource = 'default' | 'file' | 'env' | 'flag';
type Layer = { source: Exclude<ConfigSource, 'default'>; values: Record<string, unknown> };

const isMapping = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/** Later layers win key by key; mappings merge, everything else (lists included) is replaced; undefined means "not set". */
export function mergeLayers(layers: readonly Layer[]): Record<string, unknown> {
  const merge = (into: Record<string, unknown>, from: Record<string, unknown>): Record<string, unknown> => {
    const out = { ...into };
    for (const [key, value] of Object.entries(from)) {
      if (value === undefined) continue;
      out[key] = isMapping(value) && isMapping(out[key]) ? merge(out[key], value) : value;
    }
    return out;
  };
  return layers.reduce<Record<string, unknown>>((acc, layer) => merge(acc, layer.values), {});
}

/** The source of the value at `path`: the last layer that set it or one of its parents, else the default. */
export function sourceOf(path: readonly string[], layers: readonly Layer[]): ConfigSource {
  for (const layer of [...layers].reverse()) {
    let node: unknown = layer.values;
    for (const key of path) {
      if (!isMapping(node) || node[key] === undefined) {
        node = undefined;
        break;
      }
      node = node[key];
      // A list or a scalar set here covers everything below it.
      if (!isMapping(node)) break;
    }
    if (node !== undefined) return layer.source;
  }
  return 'default';
}

const SECRET_KEY = /token|secret|password|auditkey/i;

/**
 * A value whose key names a secret (token, password, pseudonym secrets, the audit key) becomes
 * `[masked]`, and so does every value of a mapping under such a key (pseudonymSecrets per region);
 * a list under one (tokens) is looked into, so its entries' roles and regions stay readable.
 */
export function maskSecrets(value: unknown, secret = false): unknown {
  if (Array.isArray(value)) return value.map((item) => maskSecrets(item));
  if (isMapping(value)) return Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, maskSecrets(inner, secret || SECRET_KEY.test(key))]));
  return secret && value !== null && value !== undefined ? '[masked]' : value;
}

/** One `path = value   (source)` line per leaf of the effective config; lists print whole. */
export function describeConfig(config: Record<string, unknown>, layers: readonly Layer[]): string[] {
  const masked = maskSecrets(config) as Record<string, unknown>;
  const lines: string[] = [];
  const walk = (node: Record<string, unknown>, path: string[]): void => {
    for (const [key, value] of Object.entries(node)) {
      const at = [...path, key];
      if (isMapping(value) && Object.keys(value).length > 0 && !/Secrets$|keyVaults$|regionRetention$|expiryByCommand$/.test(key)) walk(value, at);
      else lines.push(`${at.join('.')} = ${JSON.stringify(value) ?? 'unset'}   (${sourceOf(at, layers)})`);
    }
  };
  walk(masked, []);
  return lines;
}

export type { Layer as ConfigLayer };
