import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { readOrCreateSecretFile } from '../owner-only-files.ts';

/** Where the device secret key lives when configuration does not say: beside the stores, never in one. */
export function deviceSecretKeyFile(config: { dataDir: string; deviceSecretKeyFile?: string | undefined }): string {
  return config.deviceSecretKeyFile ?? path.join(config.dataDir, 'device-secrets.key');
}

/**
 * The key device secrets are hashed under: read from `file`, or 32 random bytes generated into it
 * (0600 from its first byte) on first start. It never goes into a store: a store's copy or backup
 * without it lets nobody check a guessed secret. Losing it locks every device out (they must be
 * provisioned again), so it is backed up apart from the stores.
 */
export function loadDeviceSecretKey(file: string): Buffer {
  const text = readOrCreateSecretFile(file, () => randomBytes(32).toString('base64url'));
  const key = Buffer.from(text, 'base64url');
  if (key.length < 32) throw new Error(`${file} holds no usable device secret key (32 bytes, base64url)`);
  return key;
}
