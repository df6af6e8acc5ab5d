import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import path from 'node:path';
import type { RegionId } from '../../schema/regions.ts';
import { KeyVault } from './key-vault.ts';

/**
 * Crypto-shredding of owner data: an owner's name and contact are stored sealed (AES-256-GCM) under a
 * key of that owner's own, kept in the region's key vault. Erasure destroys the key, and from then on
 * every copy of the sealed bytes (free pages, WAL, PostgreSQL's dead tuples, backups) is noise.
 */

export const SEALED_PREFIX = 'sealed:v1:';
const IV_BYTES = 12;
const TAG_BYTES = 16;

export type OwnerField = 'name' | 'contact';

/** Binds a sealed value to its owner and field, so one cannot be moved into another row or column. */
const aad = (ownerId: string, field: OwnerField): Buffer => Buffer.from(`brewtel owner ${ownerId} ${field}`, 'utf8');

export function isSealed(value: string): boolean {
  return value.startsWith(SEALED_PREFIX);
}

export function seal(key: Buffer, ownerId: string, field: OwnerField, plaintext: string): string {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(aad(ownerId, field));
  const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return SEALED_PREFIX + Buffer.concat([iv, body, cipher.getAuthTag()]).toString('base64url');
}

/** Throws when the value was not sealed with this key for this owner and field. */
export function unseal(key: Buffer, ownerId: string, field: OwnerField, sealed: string): string {
  const bytes = isSealed(sealed) ? Buffer.from(sealed.slice(SEALED_PREFIX.length), 'base64url') : Buffer.alloc(0);
  if (bytes.length < IV_BYTES + TAG_BYTES) throw new Error('not a sealed owner field');
  const decipher = createDecipheriv('aes-256-gcm', key, bytes.subarray(0, IV_BYTES));
  decipher.setAAD(aad(ownerId, field));
  decipher.setAuthTag(bytes.subarray(bytes.length - TAG_BYTES));
  return Buffer.concat([decipher.update(bytes.subarray(IV_BYTES, bytes.length - TAG_BYTES)), decipher.final()]).toString('utf8');
}

/** The key vault of every region: where each lives is configuration (`privacy.keyVaults`). */
export class OwnerKeys {
  readonly #vaults = new Map<RegionId, KeyVault>();

  constructor(regions: readonly RegionId[], configured: Readonly<Record<string, string>>, dataDir: string) {
    for (const region of regions) this.#vaults.set(region, new KeyVault(configured[region] ?? path.join(dataDir, `keys-${region}.db`)));
  }

  vault(region: RegionId): KeyVault {
    const vault = this.#vaults.get(region);
    if (!vault) throw new Error(`no key vault for region ${region}`);
    return vault;
  }

  close(): void {
    for (const vault of this.#vaults.values()) vault.close();
  }
}
