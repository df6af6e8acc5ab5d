/**
 * Why ingest refused a message. Stable: they appear in metrics, in the regions report and in stored
 * refusal rows, so renaming one is a breaking change.
 */
export const REFUSAL_REASONS = [
  'malformed_json',
  'schema_invalid',
  'topic_invalid',
  'device_mismatch',
  'kind_mismatch',
  'unknown_device',
  /** The device's home region has no store in this deployment; nothing is written elsewhere instead. */
  'region_unavailable',
  'not_consented',
  /** The device was erased (its owner's erasure or its deletion); a tombstone in its region says so. */
  'device_erased',
  /** The store refused the row itself (a constraint, a value out of its range): retrying cannot cure it. */
  'store_rejected',
  /** The device clock (`ts`) is outside the window around the server's receive time (config.ingest.clockAheadMs, clockBehindMs). */
  'clock_out_of_range',
  /** A bug in a pipeline step; the message is refused rather than retried forever. */
  'internal_error',
] as const;
export type RefusalReason = (typeof REFUSAL_REASONS)[number];

/**
 * Refusals whose payload the quarantine must not keep: storing what the owner did not consent to is
 * exactly what consent forbids, and an erased device's data must not come back through the quarantine,
 * so only the fact of the refusal is recorded.
 */
export const PAYLOAD_NEVER_KEPT: ReadonlySet<RefusalReason> = new Set<RefusalReason>(['not_consented', 'device_erased']);
