/**
 * The one reconnect rule of every client of ours (devices, ingest, the server's outbound connection):
 * exponential growth with "equal jitter" (half fixed, half random), so a fleet that lost its broker
 * does not come back in one synchronized wave, yet no client retries instantly.
 */
export interface BackoffPolicy {
  initialMs: number;
  maxMs: number;
}

export const DEFAULT_BACKOFF: BackoffPolicy = { initialMs: 500, maxMs: 30_000 };

export function backoffDelay(attempt: number, policy: BackoffPolicy, random: () => number): number {
  const ceiling = Math.min(policy.maxMs, policy.initialMs * 2 ** Math.min(attempt, 30));
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}
