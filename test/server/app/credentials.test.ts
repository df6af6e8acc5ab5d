import { describe, expect, it } from 'vitest';
import { deviceIdSchema } from '../../../schema/ids.ts';
import { decoyVerify, hashSecret, mintDeviceId, mintSecret, verifySecret } from '../../../server/devices/credentials.ts';

describe('device credentials', () => {
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

  it('keeps only a salted scrypt hash with its parameters, and verifies against it', async () => {
    const secret = mintSecret();
    const [a, b] = await Promise.all([hashSecret(secret), hashSecret(secret)]);
    expect(a).toMatch(/^scrypt\$16384\$8\$1\$[\w-]+\$[\w-]+$/);
    expect(a).not.toContain(secret);
    expect(a).not.toBe(b);
    expect(await verifySecret(secret, a)).toBe(true);
    expect(await verifySecret(secret, b)).toBe(true);
    expect(await verifySecret(mintSecret(), a)).toBe(false);
  });

  it('verifies nothing against a malformed hash or for an unknown device', async () => {
    expect(await verifySecret('x', 'plain')).toBe(false);
    expect(await verifySecret('x', 'scrypt$0$8$1$aa$bb')).toBe(false);
    expect(await decoyVerify('x')).toBe(false);
  });
});
