import type { z } from 'zod';

/**
 * The paths of keys in `value` that `schema` has no setting for, at any depth of nested objects:
 * zod's non-strict objects drop them silently, and a misspelt setting in a config file must be an
 * error that names it, not a default quietly kept. Records, arrays and unions are not looked into
 * (their keys are data or their shape depends on the value).
 */
export function unknownSettings(schema: z.ZodType, value: unknown, path: readonly string[] = []): string[][] {
  const objectOf = (type: z.ZodType): Record<string, z.ZodType> | null => {
    const def = (type as unknown as { _zod: { def: { type: string; shape?: Record<string, z.ZodType>; innerType?: z.ZodType; in?: z.ZodType } } })._zod.def;
    if (def.type === 'object') return def.shape ?? null;
    if (def.innerType) return objectOf(def.innerType);
    if (def.type === 'pipe' && def.in) return objectOf(def.in);
    return null;
  };
  const shape = objectOf(schema);
  if (shape === null || typeof value !== 'object' || value === null || Array.isArray(value)) return [];
  const found: string[][] = [];
  for (const [key, inner] of Object.entries(value)) {
    const setting = Object.hasOwn(shape, key) ? shape[key] : undefined;
    if (setting === undefined) found.push([...path, key]);
    else found.push(...unknownSettings(setting, inner, [...path, key]));
  }
  return found;
}
