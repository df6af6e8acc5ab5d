import { z } from 'zod';
import { deviceIdSchema } from './ids.ts';

/**
 * Control messages, server -> broker: not part of the device topic grammar (schema/topics.ts) and
 * never delivered to any client. Only the ingest service role may publish one and nobody may
 * subscribe (broker/acl-policy.ts); every broker node acts on it itself, hearing it on aedes' own
 * emitter, which cluster mode shares through Redis. The `$` prefix keeps wildcard filters from ever
 * matching it [MQTT-4.7.2-1], on any broker.
 */
export const CONTROL_TOPICS = {
  /**
   * A device's credentials were revoked (its owner or the device was erased): drop every cached
   * verification of it and close its session at once. QoS 1, never retained.
   */
  credentialsRevoked: '$brewtel/v1/credentials-revoked',
} as const;

export const credentialsRevokedSchema = z.strictObject({
  v: z.literal(1),
  deviceId: deviceIdSchema,
});
export type CredentialsRevoked = z.infer<typeof credentialsRevokedSchema>;
