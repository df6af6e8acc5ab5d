import { createHmac, randomBytes } from 'node:crypto';
import path from 'node:path';
import { readOrCreateSecretFile } from '../owner-only-files.ts';

/**
 * The audit chains' HMAC key: the configured one, else a random one generated once into
 * `<dataDir>/audit.key` (0600 from its first byte), never into a store a chain covers.
 */
export function loadAuditKey(configured: string | undefined, dataDir: string): Buffer {
  if (configured !== undefined) return Buffer.from(configured, 'utf8');
  const file = path.join(dataDir, 'audit.key');
  const key = readOrCreateSecretFile(file, () => randomBytes(32).toString('base64url'));
  if (key.length < 32) throw new Error(`${file} holds no usable audit key (at least 32 characters)`);
  return Buffer.from(key, 'utf8');
}

/** One key per use and store, derived from the one configured: a chain's links and its checkpoints never share a key. */
export function derivedKey(master: Buffer, use: 'chain' | 'checkpoint', store: string): Buffer {
  return createHmac('sha256', master).update(`brewtel audit ${use} ${store}`).digest();
}
