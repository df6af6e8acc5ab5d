/**
 * A harness against a deployment that runs elsewhere: its broker (`mqttUrl`) and its server's HTTP
 * API (`httpUrl`, an admin token). The machines are simulated here and provisioned through that API;
 * everything read back comes from the API too (the stores are the deployment's, not ours), so what a
 * scenario checks is what the deployment's own API says. An outage cannot be made from outside.
 */
import { pino } from 'pino';
import { z } from 'zod';
import { deviceEventsResponseSchema, regionsResponseSchema } from '../schema/api.ts';
import type { RegionId } from '../schema/regions.ts';
import { startFleet, type Fleet } from '../firmware-sim/fleet.ts';
import { provisionMachines } from '../firmware-sim/provision.ts';
import { isTransportUrl } from '../mqtt-wire/transport.ts';
import type { ServerStats } from '../server/server.ts';
import { apiCaller } from './harness-api.ts';
import { harnessOptionsSchema, harnessOver, type Harness, type HarnessBackend, type HarnessOptions } from './harness.ts';

export const remoteTargetSchema = z.object({
  httpUrl: z.url(),
  adminToken: z.string().min(16),
  mqttUrl: z.string().refine(isTransportUrl, 'a broker URL such as mqtt://127.0.0.1:1883'),
});
export type RemoteTarget = z.input<typeof remoteTargetSchema>;

type RemoteOptions = Pick<HarnessOptions, 'machines' | 'leaky' | 'regions' | 'seed' | 'speed' | 'mqttVersion' | 'faults' | 'logLevel'>;

export async function connectHarness(target: RemoteTarget, options: RemoteOptions = {}): Promise<Harness> {
  const { httpUrl, adminToken, mqttUrl } = remoteTargetSchema.parse(target);
  const opts = harnessOptionsSchema.parse(options);
  const logger = pino({ level: opts.logLevel });
  const api = apiCaller(httpUrl, adminToken);
  const get = <T>(path: string, schema: z.ZodType<T>): Promise<T> => api('GET', path, schema);
  const regionStats = async (region: RegionId) => {
    const { regions } = await get('/api/v1/regions', regionsResponseSchema);
    const stats = regions.find((r) => r.region === region);
    if (!stats) throw new Error(`the server at ${httpUrl} has no region ${region} (regions: ${regions.map((r) => r.region).join(', ')})`);
    return stats;
  };

  let fleet: Fleet | null = null;
  if (opts.machines > 0) {
    const machines = await provisionMachines({
      apiUrl: httpUrl,
      token: adminToken,
      count: opts.machines,
      regions: opts.regions,
      seed: opts.seed,
      leaky: opts.leaky,
    });
    fleet = await startFleet(
      { brokerUrl: mqttUrl, machines, seed: opts.seed, speed: opts.speed, mqttVersion: opts.mqttVersion },
      logger.child({ room: 'fleet' }),
    );
    if (opts.faults) fleet.injectFaults(opts.faults);
  }
  const outside = (what: string): Promise<never> =>
    Promise.reject(new Error(`${what} cannot be made against a server elsewhere (${httpUrl}); run the scenario on the embedded stack`));
  const backend: HarnessBackend = {
    mqttUrl,
    httpUrl,
    adminToken,
    fleet,
    async storedCount(region, kind) {
      const stats = await regionStats(region);
      return kind === undefined ? stats.stored : (stats.eventsByKind[kind] ?? 0);
    },
    async storedEvents({ region, deviceId, kind, limit }) {
      if (deviceId === undefined) throw new Error('storedEvents against a server elsewhere needs a deviceId');
      const query = new URLSearchParams({ limit: String(limit), ...(kind === undefined ? {} : { kind }) });
      const { events } = await get(`/api/v1/devices/${encodeURIComponent(deviceId)}/events?${query}`, deviceEventsResponseSchema);
      return events.map((event) => ({ ...event, region }));
    },
    async ingestStats(): Promise<ServerStats> {
      // What the deployment's stores hold (its quarantine, by reason), not one server process's counters.
      const { regions, unrouted } = await get('/api/v1/regions', regionsResponseSchema);
      const refusedByReason: Record<string, number> = {};
      for (const r of regions) for (const [reason, n] of Object.entries(r.refusedByReason)) refusedByReason[reason] = (refusedByReason[reason] ?? 0) + n;
      return {
        stored: Object.fromEntries(regions.map((r) => [r.region, r.stored])),
        refused: { ...Object.fromEntries(regions.map((r) => [r.region, r.refused])), unrouted: unrouted.refused },
        refusedByReason,
        quarantineSuppressed: {},
      };
    },
    regionOutage: () => outside('a region outage'),
    brokerOutage: () => outside('a broker outage'),
    close: async () => fleet?.stop(),
  };
  return harnessOver(backend, opts, logger);
}
