import { randomBytes } from 'node:crypto';
import path from 'node:path';
import type { RegionId } from '../../schema/regions.ts';
import { readOrCreateSecretFile } from '../owner-only-files.ts';

/**
 * Each region's pseudonym secret: the configured one, else a random one generated once into the data
 * folder (0600) so pseudonyms stay stable across restarts of the embedded default.
 */
export function loadPseudonymSecrets(regions: readonly RegionId[], configured: Readonly<Record<string, string>>, dataDir: string): Map<RegionId, string> {
  const secrets = new Map<RegionId, string>();
  for (const region of regions) {
    const given = configured[region];
    if (given !== undefined) {
      secrets.set(region, given);
      continue;
    }
    const file = path.join(dataDir, `pseudonym-${region}.key`);
    const secret = readOrCreateSecretFile(file, () => randomBytes(32).toString('base64url'));
    secrets.set(region, secret);
  }
  return secrets;
}
