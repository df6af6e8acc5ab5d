import { z } from 'zod';
import { MQTT_VERSION_LABELS, protocolLevelOf, type ProtocolVersion } from '../mqtt-wire/codes.ts';

/**
 * An MQTT version as a label or as the CONNECT protocol level it stands for, read into the level:
 * '3.1.1' or 4 -> 4, '5' or 5 -> 5. Levels pass through, so a parsed value parses again unchanged.
 */
export const mqttVersionSchema = z
  .union([z.enum(MQTT_VERSION_LABELS), z.literal(4), z.literal(5)], { error: 'expected 3.1.1 or 5' })
  .transform((v): ProtocolVersion => (typeof v === 'number' ? v : protocolLevelOf(v)!));

/** What our own machines speak unless told otherwise. */
export const DEFAULT_MQTT_VERSION: ProtocolVersion = 5;
