import { pbkdf2, randomBytes, timingSafeEqual } from 'node:crypto';
import { promisify } from 'node:util';

/**
 * Mosquitto 2.x's password file, in the format `mosquitto_passwd` writes: one `username:hash` line
 * per account, the hash `$7$<iterations>$<base64 salt>$<base64 key>`, the key PBKDF2-HMAC-SHA512 of
 * the password over a 12-byte salt, 64 bytes long (Mosquitto's common/password_mosq.c; checked
 * against mosquitto_passwd 2.0.11 here). 101 iterations is mosquitto_passwd's own default: device
 * secrets are 256 random bits, so a slower hash would only cost the broker CPU per login.
 */
export const MOSQUITTO_PBKDF2_ITERATIONS = 101;
const SALT_BYTES = 12;
const KEY_BYTES = 64;
const derive = promisify(pbkdf2);

export async function mosquittoHash(password: string, iterations = MOSQUITTO_PBKDF2_ITERATIONS): Promise<string> {
  const salt = randomBytes(SALT_BYTES);
  const key = await derive(password, salt, iterations, KEY_BYTES, 'sha512');
  return `$7$${iterations}$${salt.toString('base64')}$${key.toString('base64')}`;
}

/** Whether `hash` (a `$7$` entry) is of `password`; any other or malformed entry verifies nothing. */
export async function mosquittoHashMatches(password: string, hash: string): Promise<boolean> {
  const [empty, type, rounds, salt, key, ...rest] = hash.split('$');
  const iterations = Number(rounds);
  if (empty !== '' || type !== '7' || rest.length > 0 || !salt || !key || !Number.isSafeInteger(iterations) || iterations < 1) return false;
  const expected = Buffer.from(key, 'base64');
  if (expected.length !== KEY_BYTES) return false;
  return timingSafeEqual(await derive(password, Buffer.from(salt, 'base64'), iterations, KEY_BYTES, 'sha512'), expected);
}

/** The file's accounts in file order: username -> hash. Lines that are not `user:hash` (blank, comments) are dropped. */
export function parsePasswordFile(text: string): Map<string, string> {
  const accounts = new Map<string, string>();
  for (const line of text.split('\n')) {
    const at = line.indexOf(':');
    if (line.startsWith('#') || at <= 0) continue;
    accounts.set(line.slice(0, at), line.slice(at + 1).trim());
  }
  return accounts;
}

export function renderPasswordFile(accounts: ReadonlyMap<string, string>): string {
  return [...accounts].map(([user, hash]) => `${user}:${hash}\n`).join('');
}

/** A username Mosquitto would read as another line or field: it must not reach the file. */
export function writableUsername(username: string): boolean {
  return username.length > 0 && !/[:\n\r]/.test(username);
}
