import type { Logger } from 'pino';
import type { Metrics } from '../metrics/metrics.ts';

/**
 * Tells the global directory that this plane erased these devices (`DELETE
 * /api/v1/directory/devices/:id` with the plane's token; 204 whether or not it knew them, so a
 * repeat is harmless). Never throws: the erasure has already happened here, and the directory holds
 * no personal data; a device it still routes is refused by this plane's registry. Each outcome is
 * counted, and a failure logged with the device id only.
 */
export async function forgetAtGlobalDirectory(
  directory: { url: string; token: string; timeoutMs: number },
  deviceIds: readonly string[],
  metrics: Metrics,
  logger: Logger,
): Promise<void> {
  for (const deviceId of deviceIds) {
    try {
      const response = await fetch(new URL(`/api/v1/directory/devices/${encodeURIComponent(deviceId)}`, directory.url), {
        method: 'DELETE',
        headers: { authorization: `Bearer ${directory.token}` },
        signal: AbortSignal.timeout(directory.timeoutMs),
      });
      await response.body?.cancel();
      if (!response.ok) throw new Error(`the directory answered ${response.status}`);
      metrics.directoryRemovals.inc({ outcome: 'removed' });
    } catch (err) {
      metrics.directoryRemovals.inc({ outcome: 'failed' });
      logger.warn({ deviceId, err }, 'erased device not removed from the global directory');
    }
  }
}
