/**
 * The devices' host of the planes lab, run inside its own network namespace by
 * residency-in-transit.test.ts: provisions each region's machines through the global directory
 * (which forwards them to their home plane and answers with its endpoints), makes their owners at
 * the home plane directly, runs a mixed fleet (compliant and leaky machines) against each home
 * plane's broker, withdraws one machine's consent and erases one owner in every region, and finally
 * reads back what each plane holds. Two machines of each region (one MQTT 5, one 3.1.1) are sent to
 * the other region's broker first, as a misconfigured or stale machine would be: the only thing this
 * host ever sends a plane about another region's device is such a CONNECT. Everything else it says
 * to a plane concerns that plane's own devices. At the end, as an operator would, it asks every plane
 * for a batch of the one transfer rule (in force at one plane). Prints progress lines, then one JSON line.
 */
import { pino } from 'pino';
import { z } from 'zod';
import { deviceEventsResponseSchema, deviceListResponseSchema, regionsResponseSchema } from '../../schema/api.ts';
import { createOwnersBatchResponseSchema } from '../../schema/privacy.ts';
import { createFleet, type Fleet } from '../../firmware-sim/fleet.ts';
import type { FleetOptions } from '../../firmware-sim/fleet-options.ts';
import { provisionMachines } from '../../firmware-sim/provision.ts';

const inputSchema = z.object({
  directoryUrl: z.string(),
  planes: z.array(z.object({ region: z.string(), httpUrl: z.string(), mqttUrl: z.string() })),
  perRegion: z.int().min(2),
  leakyPerRegion: z.int().min(0),
  seconds: z.number().positive(),
  seed: z.int(),
  /** A transfer rule in force at one plane only: asked of every plane, so the others must refuse it. */
  transferRule: z.string(),
});

export interface RegionOutcome {
  deviceIds: string[];
  owners: Array<{ id: string; name: string; contact: string; pseudonym: string }>;
  published: number;
  /** What the home plane lists and counts at the end. */
  listedDeviceIds: string[];
  stored: number;
  refused: number;
  consentWithdrawn: number;
  ownerErased: number;
  /** The erased owner's machine: erased with its owner, so its home plane no longer lists it. */
  erasedDeviceId: string;
  /** What the directory answers about it afterwards: 404, its plane removed it there. */
  erasedAtDirectory: number;
  /** The MQTT URLs provisioning through the directory gave this region's machines. */
  provisionedMqttUrls: string[];
  /** What the plane answered when asked for a batch of the transfer rule from its region. */
  transfer: number;
  /** Machines pointed at the other region's broker first; events of each stored at home. */
  misdirected: Array<{ deviceId: string; mqttVersion: '3.1.1' | '5'; storedAtHome: number }>;
}

/** The fleet of misdirected machines of both regions, once all are connected and when it stopped. */
export interface MisdirectedOutcome {
  machines: number;
  connected: number;
  redirected: number;
  relocated: number;
  directoryLookups: number;
  published: number;
}

const token = process.env.BREWTEL_ADMIN_TOKEN ?? '';
const lookupToken = process.env.PLANES_LAB_LOOKUP_TOKEN ?? '';
/** Machines 0 and 1 of a region withdraw consent and lose their owner; 2 and 3 start at the wrong plane. */
const MISDIRECTED: ReadonlyArray<{ index: number; mqttVersion: '3.1.1' | '5' }> = [
  { index: 2, mqttVersion: '5' },
  { index: 3, mqttVersion: '3.1.1' },
];
/** A plane that is restarting is waited for (bounded), as an operator's tooling would. */
const call = async (url: string, method = 'GET', body?: unknown, bearer = token): Promise<{ status: number; json: unknown }> => {
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      const response = await fetch(url, {
        method,
        headers: { authorization: `Bearer ${bearer}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      return { status: response.status, json: await response.json().catch(() => null) };
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }
};

async function main(): Promise<void> {
  const input = inputSchema.parse(JSON.parse(process.argv[2] ?? '{}'));
  // Connection problems while a plane restarts, and the refusals of the misdirected, are expected; only errors are news.
  const logger = pino({ level: 'error' }, pino.destination(2));
  const directory = { url: input.directoryUrl, token: lookupToken };
  const prepared = [];
  for (const [i, plane] of input.planes.entries()) {
    const machines = await provisionMachines({
      apiUrl: input.directoryUrl,
      token,
      count: input.perRegion,
      regions: [plane.region],
      seed: input.seed + i * 1_000,
      leaky: input.leakyPerRegion,
      throughDirectory: true,
    });
    const suffix = `${plane.region}-${input.seed}`;
    const created = await call(`${plane.httpUrl}/api/v1/owners:batch`, 'POST', {
      owners: machines.map((m, n) => ({
        region: plane.region,
        name: `Owner ${suffix}-${n}`,
        contact: `owner-${suffix}-${n}@example.test`,
        deviceIds: [m.deviceId],
      })),
    });
    if (created.status !== 200 && created.status !== 201) throw new Error(`owners at ${plane.region}: ${created.status} ${JSON.stringify(created.json)}`);
    const owners = createOwnersBatchResponseSchema.parse(created.json).owners;
    prepared.push({ plane, machines, owners });
  }
  const wrongPlaneOf = (region: string): string => input.planes.find((p) => p.region !== region)!.mqttUrl;
  const misdirected: FleetOptions['machines'] = prepared.flatMap(({ plane, machines }) =>
    MISDIRECTED.map(({ index, mqttVersion }) => ({ ...machines[index]!, mqttUrl: wrongPlaneOf(plane.region), mqttVersion })),
  );
  const misdirectedIds = new Set(misdirected.map((m) => m.deviceId));
  // Their owners say yes to usage (the consent mix may have drawn a no to all), so each has events to store once at home.
  for (const machine of misdirected) {
    const home = input.planes.find((p) => p.region === machine.region)!;
    const consent = { usage: true, location: 'coarse', payment: false, diagnostics: true };
    const answer = await call(`${home.httpUrl}/api/v1/devices/${machine.deviceId}/consent`, 'PUT', consent);
    if (answer.status !== 200) throw new Error(`consent of ${machine.deviceId} at ${machine.region}: ${answer.status}`);
  }
  const fleets: Fleet[] = prepared.map(({ machines }) =>
    createFleet({ machines: machines.filter((m) => !misdirectedIds.has(m.deviceId)), seed: input.seed, speed: 3_600, directory }, logger),
  );
  const astray = createFleet({ machines: misdirected, seed: input.seed + 1, speed: 3_600, directory }, logger);
  await Promise.all([...fleets, astray].map((fleet) => fleet.whenRamped()));
  // A first attempt ends with the refusal; home is one redirect or one directory lookup further.
  const deadline = Date.now() + 30_000;
  while (astray.stats().connected < misdirected.length && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
  const astrayAtHome = astray.stats();
  console.log('fleets running');
  await new Promise((resolve) => setTimeout(resolve, (input.seconds * 1000) / 2));
  // Halfway: one machine per region stops consenting to anything, one owner per region is erased.
  const changes = await Promise.all(
    prepared.map(async ({ plane, machines, owners }) => ({
      consentWithdrawn: (
        await call(`${plane.httpUrl}/api/v1/devices/${machines[0]!.deviceId}/consent`, 'PUT', {
          usage: false,
          location: 'none',
          payment: false,
          diagnostics: false,
        })
      ).status,
      ownerErased: (await call(`${plane.httpUrl}/api/v1/owners/${owners[1]!.id}`, 'DELETE')).status,
    })),
  );
  console.log('consent withdrawn, owner erased');
  await new Promise((resolve) => setTimeout(resolve, (input.seconds * 1000) / 2));
  await Promise.all([...fleets, astray].map((fleet) => fleet.stop()));
  const transfers = await Promise.all(
    input.planes.map(async (plane) => (await call(`${plane.httpUrl}/api/v1/transfers/${input.transferRule}`, 'POST', { from: plane.region })).status),
  );
  const outcome: Record<string, RegionOutcome> = {};
  for (const [i, { plane, machines, owners }] of prepared.entries()) {
    const listed = deviceListResponseSchema.parse((await call(`${plane.httpUrl}/api/v1/devices`)).json);
    const regions = regionsResponseSchema.parse((await call(`${plane.httpUrl}/api/v1/regions`)).json);
    const counts = regions.regions.find((r) => r.region === plane.region);
    const storedAtHome = async (deviceId: string): Promise<number> =>
      deviceEventsResponseSchema.parse((await call(`${plane.httpUrl}/api/v1/devices/${deviceId}/events?limit=1000`)).json).events.length;
    const erasedDeviceId = machines[1]!.deviceId;
    outcome[plane.region] = {
      deviceIds: machines.map((m) => m.deviceId),
      owners: owners.map(({ id, name, contact, pseudonym }) => ({ id, name, contact, pseudonym })),
      published: fleets[i]!.stats().published,
      listedDeviceIds: listed.devices.map((d) => d.id),
      stored: counts?.stored ?? 0,
      refused: counts?.refused ?? 0,
      ...changes[i]!,
      erasedDeviceId,
      transfer: transfers[i]!,
      erasedAtDirectory: (await call(`${input.directoryUrl}/api/v1/directory/devices/${erasedDeviceId}`, 'GET', undefined, lookupToken)).status,
      provisionedMqttUrls: [...new Set(machines.map((m) => m.mqttUrl ?? ''))],
      misdirected: await Promise.all(
        MISDIRECTED.map(async ({ index, mqttVersion }) => ({
          deviceId: machines[index]!.deviceId,
          mqttVersion,
          storedAtHome: await storedAtHome(machines[index]!.deviceId),
        })),
      ),
    };
  }
  const { machines, redirected, relocated, directoryLookups, published } = astray.stats();
  const astrayOutcome: MisdirectedOutcome = { machines, connected: astrayAtHome.connected, redirected, relocated, directoryLookups, published };
  console.log(JSON.stringify({ outcome, misdirected: astrayOutcome }));
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error instanceof Error ? (error.stack ?? error.message) : String(error));
    process.exit(1);
  },
);
