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
  /** A bug in a pipeline step; the message is refused rather than retried forever. */
  'internal_error',
] as const;
export type RefusalReason = (typeof REFUSAL_REASONS)[number];
