/**
 * What a fleet in a process of its own (fleet-process.ts) and the process that started it say to
 * each other over the IPC channel node's fork() opens: defined once here, parsed on arrival on
 * both sides. Counts travel as FleetStats, except that `allConnectedAt` is epoch milliseconds on the
 * wire (two processes' performance.now() start at different instants).
 */
import { z } from 'zod';
import { EVENT_KINDS } from '../schema/events.ts';
import { faultRatesSchema, INJECTED_FAULTS } from '../schema/fault-rates.ts';
import { deviceIdSchema } from '../schema/ids.ts';
import { logLevelSchema } from '../schema/log-level.ts';
import { COMMAND_OUTCOMES } from './command-handler.ts';
import { fleetOptionsSchema } from './fleet-options.ts';
import type { FleetStats } from './fleet-stats.ts';

const count = z.int().min(0);
const countsOf = <T extends readonly [string, ...string[]]>(keys: T) => z.record(z.enum(keys), count);
const byCode = z.record(z.string(), count);

export const fleetStatsSchema = z.object({
  machines: count,
  connected: count,
  allConnectedAt: z.number().nullable(),
  published: count,
  publishedByKind: countsOf(EVENT_KINDS),
  suppressed: count,
  failed: count,
  // A late acknowledgement after a failure may take it below zero for a moment.
  pending: z.int(),
  commands: count,
  commandOutcomes: countsOf(COMMAND_OUTCOMES),
  commandReplies: count,
  buffered: count,
  bufferedBytes: count,
  dropped: count,
  droppedFleetBacklog: count,
  injected: countsOf(INJECTED_FAULTS),
  refusals: z.object({ puback: byCode, connack: byCode, disconnect: byCode }),
  redirected: count,
  relocated: count,
  directoryLookups: count,
  directoryUnavailable: count,
  bytesWritten: count,
});

// The schema and the counters' own type must say the same, field for field.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const statsSchemaMatchesFleetStats: Same<z.infer<typeof fleetStatsSchema>, FleetStats> = true;
void statsSchemaMatchesFleetStats;

const deviceIds = z.array(deviceIdSchema).optional();

/** From the parent: start once, then change rates and clocks while running, then stop. */
export const fleetParentMessageSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('start'), options: fleetOptionsSchema, logLevel: logLevelSchema, statsEveryMs: z.int().min(10).max(60_000) }),
  z.object({ type: z.literal('injectFaults'), rates: faultRatesSchema, deviceIds }),
  z.object({ type: z.literal('setBrewRate'), factor: z.number().min(0), deviceIds }),
  z.object({ type: z.literal('setClockSkew'), skewMs: z.int(), deviceIds }),
  z.object({ type: z.literal('stop') }),
]);
export type FleetParentMessage = z.input<typeof fleetParentMessageSchema>;

/**
 * From the fleet: counts every `statsEveryMs` (`stats`), once when every machine had its first
 * connection attempt answered (`ramped`), the final counts after a stop (`stopped`, its last
 * message), and a control message it could not apply (`refused`, with why).
 */
export const fleetChildMessageSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('stats'), stats: fleetStatsSchema }),
  z.object({ type: z.literal('ramped'), stats: fleetStatsSchema }),
  z.object({ type: z.literal('stopped'), stats: fleetStatsSchema }),
  z.object({ type: z.literal('refused'), message: z.string() }),
]);
export type FleetChildMessage = z.infer<typeof fleetChildMessageSchema>;

/** FleetStats for the wire: `allConnectedAt` as epoch milliseconds. */
export const statsForWire = (stats: FleetStats): FleetStats => ({
  ...stats,
  allConnectedAt: stats.allConnectedAt === null ? null : performance.timeOrigin + stats.allConnectedAt,
});

/** FleetStats from the wire: `allConnectedAt` on this process's performance.now() scale. */
export const statsFromWire = (stats: FleetStats): FleetStats => ({
  ...stats,
  allConnectedAt: stats.allConnectedAt === null ? null : stats.allConnectedAt - performance.timeOrigin,
});
