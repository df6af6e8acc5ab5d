import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { deviceIdSchema } from '../schema/ids.ts';
import { ownerIdSchema } from '../schema/privacy.ts';
import { regionIdSchema } from '../schema/regions.ts';
import { MQTT_VERSION_LABELS } from '../mqtt-wire/codes.ts';
import { replaceOwnerOnlyFile } from '../server/owner-only-files.ts';

/**
 * The demo fleet's device secrets (and the ids of their demo owners), kept next to the stores so a
 * restart with the same data folder reuses the same machines and owners instead of making new ones. Owner-only from the first byte
 * (a new 0600 file renamed over the old one): these are credentials.
 */
const storedMachineSchema = z.object({
  deviceId: deviceIdSchema,
  secret: z.string().min(1),
  region: regionIdSchema,
  profile: z.enum(['compliant', 'leaky']),
  /** The demo owner created for it (additive: files from before owners have none, and get one). */
  ownerId: ownerIdSchema.optional(),
  /** This machine's MQTT version, over --mqtt-version (additive: a mixed demo fleet is a file with both). */
  mqttVersion: z.enum(MQTT_VERSION_LABELS).optional(),
});
const credentialsFileSchema = z.object({ version: z.literal(1), machines: z.array(storedMachineSchema) });
export type StoredMachine = z.infer<typeof storedMachineSchema>;

export async function loadFleetCredentials(file: string): Promise<StoredMachine[]> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  const parsed = credentialsFileSchema.safeParse(JSON.parse(text));
  return parsed.success ? parsed.data.machines : [];
}

export async function saveFleetCredentials(file: string, machines: readonly StoredMachine[]): Promise<void> {
  await replaceOwnerOnlyFile(file, `${JSON.stringify({ version: 1, machines }, null, 2)}\n`);
}
