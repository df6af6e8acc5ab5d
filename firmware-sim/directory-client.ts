import { z } from 'zod';
import { isTransportUrl } from '../mqtt-wire/transport.ts';
import { deviceHomeSchema } from '../schema/directory.ts';

/**
 * Where the machines ask which plane they belong to, when a broker turns them away (docs/planes.md):
 * the global directory's `GET {url}/api/v1/directory/devices/:id` (schema/directory.ts).
 */
export const directoryOptionsSchema = z.object({
  /** The directory's base URL, e.g. http://127.0.0.1:8090. */
  url: z.url(),
  token: z.string().min(1),
  /** One lookup's deadline. */
  timeoutMs: z.int().min(1).default(5_000),
  /** Lookups in flight at once for the whole fleet; the others wait their turn (each machine asks one at a time). */
  maxConcurrent: z.int().min(1).max(1_000).default(16),
});
export type DirectoryOptions = z.input<typeof directoryOptionsSchema>;

export type HomeAnswer =
  | { outcome: 'home'; region: string; mqttUrl: string }
  | { outcome: 'unknown' }
  /** Unreachable, slow, another status, a malformed answer: the machine keeps the plane it knows. */
  | { outcome: 'unavailable'; reason: string };

export interface DirectoryClient {
  lookup(deviceId: string): Promise<HomeAnswer>;
}

/** One per fleet, shared by its machines, so a fleet turned away at once asks at most `maxConcurrent` at a time. */
export function createDirectoryClient(options: DirectoryOptions): DirectoryClient {
  const opts = directoryOptionsSchema.parse(options);
  // A trailing slash keeps a path the directory is mounted under.
  const base = opts.url.endsWith('/') ? opts.url : `${opts.url}/`;
  let active = 0;
  const waiting: Array<() => void> = [];
  const acquire = (): Promise<void> => {
    if (active < opts.maxConcurrent) {
      active++;
      return Promise.resolve();
    }
    return new Promise<void>((resolve) => waiting.push(resolve));
  };
  // A slot freed goes straight to the next waiter, so the bound holds.
  const release = (): void => {
    const next = waiting.shift();
    if (next) next();
    else active--;
  };

  async function ask(deviceId: string): Promise<HomeAnswer> {
    try {
      const response = await fetch(new URL(`api/v1/directory/devices/${encodeURIComponent(deviceId)}`, base), {
        headers: { authorization: `Bearer ${opts.token}`, accept: 'application/json' },
        signal: AbortSignal.timeout(opts.timeoutMs),
      });
      if (response.status === 404) {
        await response.body?.cancel();
        return { outcome: 'unknown' };
      }
      if (response.status !== 200) {
        await response.body?.cancel();
        return { outcome: 'unavailable', reason: `status ${response.status}` };
      }
      const home = deviceHomeSchema.safeParse(await response.json());
      if (!home.success || home.data.deviceId !== deviceId || !isTransportUrl(home.data.mqttUrl)) return { outcome: 'unavailable', reason: 'malformed answer' };
      return { outcome: 'home', region: home.data.region, mqttUrl: home.data.mqttUrl };
    } catch (error) {
      return { outcome: 'unavailable', reason: (error as Error).name === 'TimeoutError' ? 'timeout' : 'unreachable' };
    }
  }

  return {
    async lookup(deviceId) {
      await acquire();
      try {
        return await ask(deviceId);
      } finally {
        release();
      }
    },
  };
}
