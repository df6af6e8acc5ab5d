import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { deviceIdSchema } from '../../../schema/ids.ts';
import { mintDeviceId, mintSecret, SecretHasher } from '../../../server/devices/credentials.ts';
import { legacyScryptHash } from './helpers.ts';

describe('device credentials', () => {
  const hasher = new SecretHasher(randomBytes(32));
  const device = mintDeviceId();

  it('mints ids of the form cm- + 16 base32 characters that the schema accepts', () => {
    const ids = new Set(Array.from({ length: 200 }, mintDeviceId));
    expect(ids.size).toBe(200);
    for (const id of ids) {
      expect(id).toMatch(/^cm-[a-z2-7]{16}$/);
      expect(deviceIdSchema.safeParse(id).success).toBe(true);
    }
  });

  it('mints 32-byte base64url secrets', () => {
    expect(Buffer.from(mintSecret(), 'base64url')).toHaveLength(32);
  });

  it('keeps only a keyed hash bound to the device and the key, and verifies against it', async () => {
    const secret = mintSecret();
    const stored = hasher.hash(device, secret);
    expect(stored).toMatch(new RegExp(`^hmac-sha256\\$${hasher.keyId.replace(/[-]/g, '\\-')}\\$[\\w-]{43}$`));
    expect(stored).not.toContain(secret);
    expect(await hasher.verify(device, secret, stored)).toEqual({ valid: true });
    expect(await hasher.verify(device, mintSecret(), stored)).toEqual({ valid: false });
    // Copied onto another device's row, or checked under another key, it verifies nothing.
    expect((await hasher.verify(mintDeviceId(), secret, stored)).valid).toBe(false);
    expect((await new SecretHasher(randomBytes(32)).verify(device, secret, stored)).valid).toBe(false);
  });

  it('still verifies a legacy scrypt entry, and hands back the keyed hash to store in its place', async () => {
    const secret = mintSecret();
    const legacy = legacyScryptHash(secret);
    expect(SecretHasher.isLegacy(legacy)).toBe(true);
    const verdict = await hasher.verify(device, secret, legacy);
    expect(verdict).toEqual({ valid: true, upgraded: hasher.hash(device, secret) });
    expect(await hasher.verify(device, secret, verdict.upgraded!)).toEqual({ valid: true });
    expect(await hasher.verify(device, mintSecret(), legacy)).toEqual({ valid: false });
  });

  it('verifies nothing against a malformed or revoked entry, or for an unknown device', async () => {
    for (const stored of [
      'plain',
      'revoked',
      'scrypt$0$8$1$aa$bb',
      'scrypt$1000$8$1$aa$bb',
      'scrypt$1000$8$1$aa$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA',
      `hmac-sha256$${hasher.keyId}$short`,
      `hmac-sha256$${hasher.keyId}`,
    ]) {
      expect((await hasher.verify(device, 'x', stored)).valid).toBe(false);
    }
    expect(hasher.canVerify('revoked')).toBe(false);
    expect(hasher.canVerify(hasher.hash(device, 'x'))).toBe(true);
    expect(hasher.decoy(device, 'x')).toBe(false);
  });

  it('refuses a key shorter than 256 bits', () => {
    expect(() => new SecretHasher(randomBytes(16))).toThrow(/32 bytes/);
  });
});
