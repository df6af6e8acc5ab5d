/**
 * Devices whose credentials were revoked lately (their owner or the device was erased). An erased
 * device never comes back, so for `horizonMs` after a notice its logins are refused without asking
 * the registry, and a registry answer that was under way when the notice came (the registry read
 * the device just before the erasure committed), or that comes from a server process whose caches
 * have not caught up yet, is not believed. After the horizon the registry itself refuses it. Pure
 * apart from the clock the caller passes; never more than `maxEntries` entries.
 */
export interface Revocations {
  revoke(deviceId: string, nowMs: number): void;
  has(deviceId: string, nowMs: number): boolean;
}

export function createRevocations(settings: { horizonMs: number; maxEntries: number }): Revocations {
  // Insertion order is revocation order, so the oldest entry is always at the front.
  const revokedAt = new Map<string, number>();
  return {
    revoke(deviceId, now) {
      revokedAt.delete(deviceId);
      for (const [id, at] of revokedAt) {
        if (now - at <= settings.horizonMs && revokedAt.size < settings.maxEntries) break;
        revokedAt.delete(id);
      }
      revokedAt.set(deviceId, now);
    },
    has(deviceId, now) {
      const at = revokedAt.get(deviceId);
      return at !== undefined && now - at <= settings.horizonMs;
    },
  };
}
