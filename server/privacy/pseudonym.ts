import { createHmac, randomBytes } from 'node:crypto';

/**
 * The keyed hash stored data uses instead of an owner's id. Without the region's secret a pseudonym
 * cannot be linked back to an owner, and pseudonyms of one owner differ between regions.
 */
export function pseudonymOf(secret: string, ownerId: string): string {
  return `ps-${createHmac('sha256', secret).update(ownerId).digest('hex').slice(0, 32)}`;
}

const BASE32 = 'abcdefghijklmnopqrstuvwxyz234567';

/** `own-{region}-` + 16 base32 characters (80 random bits). */
export function mintOwnerId(region: string): string {
  const bytes = randomBytes(16);
  let out = '';
  for (const byte of bytes) out += BASE32[byte & 31];
  return `own-${region}-${out}`;
}

/** The home region written into an owner id (the schema checked its shape). */
export function regionOfOwner(ownerId: string): string {
  return ownerId.split('-')[1] ?? '';
}
