import { isIP } from 'node:net';
import type { TopicPolicy } from './acl-policy.ts';
import type { Authenticator } from './authenticate.ts';

/**
 * The unsafe permissive test mode (`--unsafe-permissive-test-mode`): the same broker code devices
 * meet (the same aedes, hooks, limits and wrappers), for MQTT test suites written by others that
 * expect an open broker. Every client is let in (anonymous too, any client id), may publish to any
 * topic but a `$` one ($SYS/ and our control topics stay the broker's) and subscribe to any filter.
 * Nothing here may ever face a network: the broker refuses to start on an address that is not a
 * loopback one, and says loudly that it runs this way.
 */
export const PERMISSIVE_BANNER =
  '*** UNSAFE PERMISSIVE TEST MODE: anonymous clients, every topic, no device check. For protocol test suites on this machine only, never for devices. ***';

export const permissiveAuthenticator: Authenticator = {
  authenticate: async ({ clientId }) => ({ ok: true, identity: { kind: 'test-client', clientId } }),
};

export const permissivePolicy: TopicPolicy = {
  publishVerdict: (_subject, topic) => (topic.startsWith('$') ? 'deny' : 'allow'),
  maySubscribe: () => true,
  mayNameResponseTopic: () => true,
};

/** Throws unless `host` is a loopback address literal (127.0.0.0/8, ::1, or 127.x mapped into IPv6). */
export function requireLoopback(host: string): void {
  if (!isLoopback(host)) throw new Error(`the unsafe permissive test mode listens on loopback only (127.0.0.1 or ::1), not on ${host}`);
}

function isLoopback(host: string): boolean {
  const address = host.replace(/^\[|\]$/g, '');
  if (isIP(address) === 4) return address.startsWith('127.');
  if (isIP(address) !== 6) return false;
  const lower = address.toLowerCase();
  if (lower === '::1' || /^0{0,4}(:0{0,4}){6}:0{0,3}1$/.test(lower)) return true;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(lower);
  return mapped !== null && mapped[1]!.startsWith('127.');
}
