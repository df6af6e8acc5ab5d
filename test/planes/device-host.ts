/**
 * The devices' host of the planes lab, run inside its own network namespace by
 * residency-in-transit.test.ts: provisions machines and owners at each region's home plane, runs a
 * mixed fleet (compliant and leaky machines) against each home plane's broker, withdraws one
 * machine's consent and erases one owner in every region, and finally reads back what each plane
 * holds. It talks to a plane only about that plane's own devices, so nothing it sends could carry
 * one region's data into another's namespace. Prints progress lines, then one JSON line.
 */
import { pino } from 'pino';
import { z } from 'zod';
import { deviceListResponseSchema, regionsResponseSchema } from '../../schema/api.ts';
import { createOwnersBatchResponseSchema } from '../../schema/privacy.ts';
import { createFleet, type Fleet } from '../../firmware-sim/fleet.ts';
import { provisionMachines } from '../../firmware-sim/provision.ts';

const inputSchema = z.object({
  planes: z.array(z.object({ region: z.string(), httpUrl: z.string(), mqttUrl: z.string() })),
  perRegion: z.int().min(2),
  leakyPerRegion: z.int().min(0),
  seconds: z.number().positive(),
  seed: z.int(),
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
}

const token = process.env.BREWTEL_ADMIN_TOKEN ?? '';
/** A plane that is restarting is waited for (bounded), as an operator's tooling would. */
const call = async (url: string, method = 'GET', body?: unknown): Promise<{ status: number; json: unknown }> => {
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      const response = await fetch(url, {
        method,
        headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
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
  // Connection problems while a plane restarts are expected; only errors are news.
  const logger = pino({ level: 'error' }, pino.destination(2));
  const fleets: Fleet[] = [];
  const prepared = [];
  for (const [i, plane] of input.planes.entries()) {
    const machines = await provisionMachines({
      apiUrl: plane.httpUrl,
      token,
      count: input.perRegion,
      regions: [plane.region],
      seed: input.seed + i * 1_000,
      leaky: input.leakyPerRegion,
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
  for (const { plane, machines } of prepared) {
    const fleet = createFleet({ brokerUrl: plane.mqttUrl, machines, seed: input.seed, speed: 3_600 }, logger);
    fleets.push(fleet);
  }
  await Promise.all(fleets.map((fleet) => fleet.whenRamped()));
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
  await Promise.all(fleets.map((fleet) => fleet.stop()));
  const outcome: Record<string, RegionOutcome> = {};
  for (const [i, { plane, machines, owners }] of prepared.entries()) {
    const listed = deviceListResponseSchema.parse((await call(`${plane.httpUrl}/api/v1/devices`)).json);
    const regions = regionsResponseSchema.parse((await call(`${plane.httpUrl}/api/v1/regions`)).json);
    const counts = regions.regions.find((r) => r.region === plane.region);
    outcome[plane.region] = {
      deviceIds: machines.map((m) => m.deviceId),
      owners: owners.map(({ id, name, contact, pseudonym }) => ({ id, name, contact, pseudonym })),
      published: fleets[i]!.stats().published,
      listedDeviceIds: listed.devices.map((d) => d.id),
      stored: counts?.stored ?? 0,
      refused: counts?.refused ?? 0,
      ...changes[i]!,
      erasedDeviceId: machines[1]!.deviceId,
    };
  }
  console.log(JSON.stringify({ outcome }));
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error instanceof Error ? (error.stack ?? error.message) : String(error));
    process.exit(1);
  },
);
