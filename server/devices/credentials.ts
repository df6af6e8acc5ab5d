import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import { panLike } from '../../schema/card-data.ts';

/**
 * Device credentials. Ids are public (they are topic levels); secrets are shown once and kept only as
 * a salted scrypt hash whose parameters travel inside the hash string, so they can be raised later
 * without invalidating existing devices.
 */

const BASE32 = 'abcdefghijklmnopqrstuvwxyz234567';

/**
 * `cm-` + 16 base32 characters: 80 random bits, enough that ids never collide in practice. An id
 * that happens to look like a card number (12 near digits: about one in a million) is drawn again,
 * since events are not scanned for card data in their device id.
 */
export function mintDeviceId(): string {
  for (;;) {
    const id = drawDeviceId();
    if (!panLike(id)) return id;
  }
}

function drawDeviceId(): string {
  const bytes = randomBytes(10);
  let bits = 0;
  let value = 0;
  let out = '';
  for (const byte of bytes) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += BASE32[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  return `cm-${out}`;
}

export function mintSecret(): string {
  return randomBytes(32).toString('base64url');
}

const DEFAULT_PARAMS = { N: 16_384, r: 8, p: 1 } as const;
const KEY_LENGTH = 32;

function derive(secret: string, salt: Buffer, params: ScryptOptions, keyLength: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(secret, salt, keyLength, { ...params, maxmem: 64 * 1024 * 1024 }, (err, key) => (err ? reject(err) : resolve(key)));
  });
}

/** Format: `scrypt$N$r$p$<salt b64url>$<key b64url>`. */
export async function hashSecret(secret: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await derive(secret, salt, DEFAULT_PARAMS, KEY_LENGTH);
  const { N, r, p } = DEFAULT_PARAMS;
  return ['scrypt', N, r, p, salt.toString('base64url'), key.toString('base64url')].join('$');
}

interface ParsedHash {
  params: { N: number; r: number; p: number };
  salt: Buffer;
  key: Buffer;
}

function parseHash(hash: string): ParsedHash | null {
  const [scheme, n, r, p, salt, key, ...rest] = hash.split('$');
  if (scheme !== 'scrypt' || rest.length > 0 || !salt || !key) return null;
  const params = { N: Number(n), r: Number(r), p: Number(p) };
  if (![params.N, params.r, params.p].every((v) => Number.isSafeInteger(v) && v > 0)) return null;
  return { params, salt: Buffer.from(salt, 'base64url'), key: Buffer.from(key, 'base64url') };
}

/** A hash of a secret nobody knows, verified against when the device is unknown so timing reveals nothing. */
let decoyHash: Promise<string> | undefined;
export function decoyVerify(secret: string): Promise<boolean> {
  decoyHash ??= hashSecret(mintSecret());
  return decoyHash.then((hash) => verifySecret(secret, hash)).then(() => false);
}

/** Constant-time comparison of the derived key; a malformed stored hash verifies nothing. */
export async function verifySecret(secret: string, hash: string): Promise<boolean> {
  const parsed = parseHash(hash);
  if (!parsed || parsed.key.length === 0) return false;
  const key = await derive(secret, parsed.salt, parsed.params, parsed.key.length);
  return timingSafeEqual(key, parsed.key);
}

/** False for a revoked entry (erasure replaces the hash with a marker no secret verifies against). */
export function canVerify(hash: string): boolean {
  return parseHash(hash) !== null;
}
