import { z } from 'zod';
import { isTransportUrl } from '../mqtt-wire/transport.ts';
import { deviceIdSchema } from '../schema/ids.ts';
import { regionIdSchema } from '../schema/regions.ts';
import { faultRatesSchema } from '../schema/fault-rates.ts';
import { machineFaultRatesSchema } from './machine-faults.ts';
import { firmwareProfileSchema } from './machine-model.ts';
import { DEFAULT_SESSION_EXPIRY_S, DEFAULT_WILL_DELAY_S } from './device-connection-options.ts';
import { DEFAULT_MQTT_VERSION, mqttVersionSchema } from './mqtt-version.ts';
import { directoryOptionsSchema } from './directory-client.ts';
import { usageProfileNameSchema } from './usage-profiles.ts';
import { DEFAULT_FLEET_IN_FLIGHT } from './fleet-window.ts';

/** A machine's credentials and character, as provisioning returns them or a credentials file holds them. */
/** About 28 MB of waiting events, kept encoded (offline-buffer.ts). */
export const DEFAULT_FLEET_BACKLOG = 100_000;

export const machineIdentitySchema = z.object({
  deviceId: deviceIdSchema,
  secret: z.string().min(1),
  region: regionIdSchema,
  profile: firmwareProfileSchema.optional(),
  usage: usageProfileNameSchema.optional(),
  /** This machine's MQTT version ('3.1.1' or '5'), over the fleet's; a mixed fleet is a list with both. */
  mqttVersion: mqttVersionSchema.optional(),
  /** This machine's broker, over the fleet's `brokerUrl`: its home plane's, as provisioning through the directory returns it. */
  mqttUrl: z.string().refine(isTransportUrl, 'a broker URL such as mqtt://127.0.0.1:1883').optional(),
});
export type MachineIdentity = z.infer<typeof machineIdentitySchema>;

export const machineIdentityListSchema = z.array(machineIdentitySchema);

/** `--connect-rate` as people type it, `200/s` or `200`, read as attempts per second (0: the broker's pace). */
export const connectRateFlagSchema = z
  .union([z.string(), z.number()])
  .transform((value) => String(value))
  .pipe(z.string().regex(/^\d+(\.\d+)?(\/s)?$/, 'expected a rate such as 200/s (0: as fast as the broker answers)'))
  .transform((text) => Number(text.replace('/s', '')));

const BROKER_URL = 'a broker URL such as mqtt://127.0.0.1:1883 (mqtt, mqtts, tcp, tls, ws or wss)';

export const fleetOptionsSchema = z.object({
  /** Every machine's broker, except those that name their own (`mqttUrl`); needed unless all do. */
  brokerUrl: z.string().refine(isTransportUrl, BROKER_URL).optional(),
  machines: machineIdentityListSchema.refine((machines) => new Set(machines.map((m) => m.deviceId)).size === machines.length, 'device ids must be unique'),
  seed: z.int(),
  /**
   * Fleet index of `machines[0]`: a process running one slice of a larger fleet (`--slice K/N`) gives
   * its first machine's index, so machine i behaves as it would in a single process.
   */
  firstIndex: z.int().min(0).default(0),
  /**
   * Simulated milliseconds per real millisecond, e.g. 3600 = an hour per second, once every machine
   * had its first connection attempt answered; real time until then (sim-clock.ts, createRampClock).
   */
  speed: z.number().positive().max(1_000_000),
  /** How many machines may be waiting for their first CONNACK at once (see connect-ramp.ts). */
  connectConcurrency: z.int().min(1).max(10_000).default(50),
  /** First connection attempts started per second, at most; 0 (default) goes as fast as the broker answers. */
  connectRatePerS: z.number().min(0).max(1_000_000).default(0),
  /** Simulated epoch ms the clock starts from; defaults to now, so repeated runs never reuse event ids. */
  startAt: z.int().min(0).optional(),
  /** Events each machine keeps while offline before it drops the oldest. */
  offlineBufferSize: z.int().min(0).max(1_000_000).default(1_000),
  /**
   * Events all machines' buffers hold together (about 300 bytes each, encoded) before a machine drops its
   * oldest: where the process cannot keep up with its simulated clock, memory stays bounded and the
   * loss is counted (droppedFleetBacklog) instead of growing to machines x offlineBufferSize.
   */
  backlogMax: z.int().min(0).default(DEFAULT_FLEET_BACKLOG),
  /**
   * Events sent and not yet acknowledged, all machines together (fleet-window.ts); each machine also
   * has at most five. Past it events wait in their machine's buffer.
   */
  inFlightMax: z.int().min(1).max(1_000_000).default(DEFAULT_FLEET_IN_FLIGHT),
  /** Records every event to this JSON Lines file (see run-recording.ts). */
  recordTo: z.string().min(1).optional(),
  /** Misbehaviour on purpose, for test harnesses; none unless asked for. */
  faults: faultRatesSchema.optional(),
  /** Chances per brew of the machine faults that do not come from consumables (bean jam, overheat). */
  machineFaults: machineFaultRatesSchema.optional(),
  /** MQTT version of every machine that names none of its own: '3.1.1'/4 or '5'/5 (the default). */
  mqttVersion: mqttVersionSchema.default(DEFAULT_MQTT_VERSION),
  /** MQTT 5: how long the broker keeps a machine's session after its link drops (default a day). */
  sessionExpirySeconds: z.int().min(0).max(0xffff_ffff).default(DEFAULT_SESSION_EXPIRY_S),
  /** MQTT 5: how long the broker holds a machine's `offline` will back, so a quick reconnect does not flap it (default 30 s). */
  willDelaySeconds: z.int().min(0).max(0xffff_ffff).default(DEFAULT_WILL_DELAY_S),
  /** MQTT 5: topic aliases on the machines' own publishes, when the broker announces a Topic Alias Maximum (default on; 3.1.1 never). */
  topicAliases: z.boolean().default(true),
  /** How long stop() waits for outstanding acknowledgements before closing anyway. */
  drainTimeoutMs: z.int().min(0).default(5_000),
  /**
   * Regional planes (docs/planes.md): the global directory, asked by a machine a broker turned away
   * (3.1.1 CONNACK 3, or not authorized) where it belongs. With one, a machine keeps the plane it
   * reached; without one, nothing changes.
   */
  directory: directoryOptionsSchema.optional(),
});

/**
 * Each machine's broker: its own `mqttUrl`, else the fleet's. Checked here rather than by a refine on
 * the schema, whose fields the launcher picks from (zod cannot pick from a refined object).
 */
export function brokerUrlsOf(opts: ParsedFleetOptions): string[] {
  return opts.machines.map((machine) => {
    const url = machine.mqttUrl ?? opts.brokerUrl;
    if (url === undefined) throw new Error(`brokerUrl: ${BROKER_URL}, needed for machines without their own mqttUrl (${machine.deviceId})`);
    return url;
  });
}
export type FleetOptions = z.input<typeof fleetOptionsSchema>;
export type ParsedFleetOptions = z.output<typeof fleetOptionsSchema>;
