import { createHmac, randomBytes, scrypt, timingSafeEqual } from 'node:crypto';
import { panLike } from '../../schema/card-data.ts';

/**
 * Device credentials. Ids are public (they are topic levels); secrets are 256 random bits, shown once
 * and kept only as a keyed hash: HMAC-SHA-256 under a server-held key that lives outside the stores
 * (secret-key.ts). Nobody guesses a 256-bit secret, so a slow password hash would add nothing but CPU
 * per login; the key makes a leaked store useless on its own. Entries from before this (a salted
 * scrypt hash, `scrypt$N$r$p$salt$key`) still verify and are replaced on their next good login.
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

const HMAC_SCHEME = 'hmac-sha256';

/** What a check found: whether the secret matched, and the stored form to write in place of a legacy one. */
export interface SecretVerdict {
  valid: boolean;
  /** Set after a good login against a legacy (scrypt) entry: the keyed hash that replaces it. */
  upgraded?: string;
}

/**
 * Hashes and checks device secrets under one key. The MAC covers the device id as well, so a hash
 * copied onto another device's row verifies nothing. The stored form names the key by a short
 * fingerprint (`hmac-sha256$<key id>$<mac>`), so entries made under another key are told apart from
 * wrong secrets instead of silently failing the same way.
 */
export class SecretHasher {
  readonly keyId: string;
  readonly #key: Buffer;
  readonly #decoyMac: Buffer;

  constructor(key: Buffer) {
    if (key.length < 32) throw new Error('the device secret key needs at least 32 bytes');
    this.#key = key;
    this.keyId = createHmac('sha256', key).update('brewtel device-secret key id').digest('base64url').slice(0, 8);
    this.#decoyMac = randomBytes(32);
  }

  hash(deviceId: string, secret: string): string {
    return `${HMAC_SCHEME}$${this.keyId}$${this.#mac(deviceId, secret).toString('base64url')}`;
  }

  /** Constant-time comparison; a malformed, revoked or foreign-key entry verifies nothing. */
  async verify(deviceId: string, secret: string, stored: string): Promise<SecretVerdict> {
    const keyed = this.#parseKeyed(stored);
    if (keyed) return { valid: timingSafeEqual(this.#mac(deviceId, secret), keyed) };
    const legacy = parseScrypt(stored);
    if (!legacy || legacy.key.length === 0) return { valid: false };
    const derived = await deriveScrypt(secret, legacy);
    if (!derived || !timingSafeEqual(derived, legacy.key)) return { valid: false };
    return { valid: true, upgraded: this.hash(deviceId, secret) };
  }

  /** For an unknown device: the same HMAC and comparison a known one costs, against a MAC nobody can match. */
  decoy(deviceId: string, secret: string): false {
    timingSafeEqual(this.#mac(deviceId, secret), this.#decoyMac);
    return false;
  }

  /** Whether a legacy entry needs the slow check (the caller bounds how many of those run at once). */
  static isLegacy(stored: string): boolean {
    return parseScrypt(stored) !== null;
  }

  /** False for a revoked entry (erasure replaces the hash with a marker no secret verifies against). */
  canVerify(stored: string): boolean {
    return this.#parseKeyed(stored) !== null || parseScrypt(stored) !== null;
  }

  #mac(deviceId: string, secret: string): Buffer {
    return createHmac('sha256', this.#key).update(deviceId).update('\u0000').update(secret).digest();
  }

  #parseKeyed(stored: string): Buffer | null {
    const [scheme, keyId, mac, ...rest] = stored.split('$');
    if (scheme !== HMAC_SCHEME || keyId !== this.keyId || !mac || rest.length > 0) return null;
    const bytes = Buffer.from(mac, 'base64url');
    return bytes.length === 32 ? bytes : null;
  }
}

interface ScryptHash {
  params: { N: number; r: number; p: number };
  salt: Buffer;
  key: Buffer;
}

function parseScrypt(hash: string): ScryptHash | null {
  const [scheme, n, r, p, salt, key, ...rest] = hash.split('$');
  if (scheme !== 'scrypt' || rest.length > 0 || !salt || !key) return null;
  const params = { N: Number(n), r: Number(r), p: Number(p) };
  if (![params.N, params.r, params.p].every((v) => Number.isSafeInteger(v) && v > 0)) return null;
  return { params, salt: Buffer.from(salt, 'base64url'), key: Buffer.from(key, 'base64url') };
}

function deriveScrypt(secret: string, { params, salt, key }: ScryptHash): Promise<Buffer | null> {
  // Parameters scrypt refuses (N not a power of two, too much memory) derive nothing: null.
  return new Promise((resolve) => {
    try {
      scrypt(secret, salt, key.length, { ...params, maxmem: 64 * 1024 * 1024 }, (err, derived) => resolve(err ? null : derived));
    } catch {
      resolve(null);
    }
  });
}
