import { z } from 'zod';

/**
 * Device ids become MQTT topic levels, so they must never contain `/`, `+`, `#` or NUL, and they are
 * safe to use as file names and in URLs. The server mints them as `cm-` + 16 base32 characters, but
 * any id of this form is accepted so that other registries can be plugged in. The `svc-` prefix is
 * reserved for service accounts, so a device can never be named (or take the session of) one.
 */
export const deviceIdSchema = z
  .string()
  .regex(/^(?!svc-)[a-z0-9][a-z0-9-]{2,63}$/, 'a device id is 3-64 lowercase letters, digits or dashes, not starting with svc-');
export type DeviceId = z.infer<typeof deviceIdSchema>;

/** Event ids are UUIDv7: time-ordered, generated on the device, the idempotency key end to end. */
export const eventIdSchema = z.uuid({ version: 'v7' });
export type EventId = z.infer<typeof eventIdSchema>;
