import { z } from 'zod';
import {
  consentBatchResponseSchema,
  errorBodySchema,
  PROVISION_BATCH_MAX,
  provisionBatchResponseSchema,
  type ConsentBatchRequest,
  type ProvisionDeviceRequest,
} from '../schema/api.ts';
import { NO_CONSENT, type ConsentCategories } from '../schema/consent.ts';
import { directoryProvisionBatchResponseSchema, type DirectoryProvisionBatchRequest, type DirectoryProvisionBatchResponse } from '../schema/directory.ts';
import { regionListSchema } from '../schema/regions.ts';
import { chooseConsent, consentMixSchema } from './consent-mix.ts';
import { eachAtMost } from './each-at-most.ts';
import type { MachineIdentity } from './fleet-options.ts';
import { defaultUsageFor } from './machine-model.ts';
import { createRng, deriveSeed } from './random.ts';

export const provisionOptionsSchema = z
  .object({
    apiUrl: z.url(),
    token: z.string().min(1),
    count: z.int().min(0).max(100_000),
    /**
     * One slice of a larger fleet (`--slice K/N`): the fleet index of the first machine provisioned
     * here and the whole fleet's size. Region, consent, usage and the leaky spread follow the fleet
     * index, so the slices together provision what one process would.
     */
    firstIndex: z.int().min(0).default(0),
    fleetSize: z.int().min(1).optional(),
    regions: regionListSchema,
    seed: z.int(),
    /** How many of the machines run the leaky firmware; spread evenly through the fleet. */
    leaky: z.int().min(0).default(0),
    consentMix: consentMixSchema.default(consentMixSchema.parse({})),
    /** Devices per `POST /api/v1/devices:batch` call. */
    batchSize: z.int().min(1).max(PROVISION_BATCH_MAX).default(PROVISION_BATCH_MAX),
    /** Batch requests in flight at once (the server writes each region's part in one transaction). */
    concurrency: z.int().min(1).max(64).default(2),
    /**
     * Regional planes: `apiUrl` is the global directory, which forwards each device to its home plane
     * (`POST /api/v1/directory/devices:batch`, the region only) and answers with that plane's MQTT URL,
     * kept as the machine's own `mqttUrl`, and its API URL, where the owner's consent choice is then
     * set directly (`PUT /api/v1/devices/consent:batch`): no consent passes through the directory.
     */
    throughDirectory: z.boolean().default(false),
    /** Bearer token valid at every home plane's API (the demo's one admin token), for the consent; `token` when omitted. */
    planeToken: z.string().min(1).optional(),
  })
  .refine((o) => o.fleetSize === undefined || o.firstIndex + o.count <= o.fleetSize, { message: 'the slice ends past the fleet', path: ['fleetSize'] })
  .refine((o) => o.leaky <= (o.fleetSize ?? o.firstIndex + o.count), { message: 'leaky cannot exceed the fleet', path: ['leaky'] });
export type ProvisionOptions = z.input<typeof provisionOptionsSchema>;

/** How often one request is retried after 429 before provisioning gives up. */
const MAX_RATE_LIMITED_ATTEMPTS = 20;

/** Ends early when `signal` aborts: a Ctrl-C should not sit out a Retry-After. */
const sleep = (ms: number, signal?: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener(
      'abort',
      () => {
        clearTimeout(timer);
        resolve();
      },
      { once: true },
    );
  });

/** Retry-After in seconds (what our server sends); one second when absent or unreadable, at most a minute. */
function retryAfterMs(header: string | null): number {
  const seconds = Number(header);
  return Number.isFinite(seconds) && seconds > 0 ? Math.min(seconds, 60) * 1000 : 1000;
}

/** Machine i is leaky when the running share of leaky machines steps up at i: an even spread. */
const isLeaky = (index: number, leaky: number, count: number): boolean => Math.floor(((index + 1) * leaky) / count) > Math.floor((index * leaky) / count);

/**
 * Registers machines through the server's public API, as a maker's factory line would: round-robin
 * over the regions, each owner's consent choice drawn from a seeded mix, in batches of `batchSize`
 * (`POST /api/v1/devices:batch`). Returns their credentials in fleet order. A 429 from the server's
 * rate limit is waited out (Retry-After) and the request sent again. `onProgress` hears the count
 * provisioned so far after each batch. Once `signal` aborts no further batch is sent; those under way
 * are finished (the server may already have committed them, and their secrets exist nowhere else),
 * and the machines provisioned so far are returned, in fleet order.
 */
export async function provisionMachines(
  options: ProvisionOptions,
  onProgress?: (provisioned: number) => void,
  signal?: AbortSignal,
): Promise<MachineIdentity[]> {
  const opts = provisionOptionsSchema.parse(options);
  const endpoint = new URL(opts.throughDirectory ? '/api/v1/directory/devices:batch' : '/api/v1/devices:batch', opts.apiUrl);
  const identities = new Array<MachineIdentity>(opts.count);
  const fleetSize = opts.fleetSize ?? opts.firstIndex + opts.count;
  let provisioned = 0;

  const send = async (url: URL, method: 'POST' | 'PUT', request: unknown, token: string): Promise<Response> => {
    const body = JSON.stringify(request);
    for (let attempt = 1; ; attempt += 1) {
      const response = await fetch(url, { method, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body });
      if (response.status !== 429 || attempt === MAX_RATE_LIMITED_ATTEMPTS || signal?.aborted === true) return response;
      // The server's rate limit: wait as long as it says, then go on (a large run is paced, not failed).
      await response.body?.cancel();
      await sleep(retryAfterMs(response.headers.get('retry-after')), signal);
    }
  };

  /** The owners' choices, at each device's home plane: machines whose owner consented to nothing keep the plane's first record. */
  const consentAtHome = async (devices: ReadonlyArray<{ id: string; apiUrl: string; consent: ConsentCategories }>): Promise<void> => {
    const byPlane = new Map<string, ConsentBatchRequest['devices']>();
    for (const { id, apiUrl, consent } of devices) {
      if (isNothing(consent)) continue;
      const entries = byPlane.get(apiUrl) ?? [];
      entries.push({ id, consent });
      byPlane.set(apiUrl, entries);
    }
    await Promise.all(
      [...byPlane].map(async ([apiUrl, entries]) => {
        const response = await send(
          new URL(`${apiUrl.replace(/\/+$/, '')}/api/v1/devices/consent:batch`),
          'PUT',
          { devices: entries },
          opts.planeToken ?? opts.token,
        );
        const json: unknown = await response.json().catch(() => null);
        if (!response.ok) throw new Error(`provisioning failed: consent at ${apiUrl}: ${failure(response.status, json)}`);
        if (consentBatchResponseSchema.parse(json).records.length !== entries.length)
          throw new Error(`provisioning failed: consent at ${apiUrl} answered another length`);
      }),
    );
  };

  // `index` counts from this call's first machine; the fleet index decides the machine's character.
  const requestFor = (index: number) => {
    const fleetIndex = opts.firstIndex + index;
    return {
      region: opts.regions[fleetIndex % opts.regions.length]!,
      consent: chooseConsent(createRng(deriveSeed(opts.seed, fleetIndex, 'consent')), opts.consentMix),
    } satisfies ProvisionDeviceRequest;
  };

  const provisionBatch = async (first: number): Promise<void> => {
    const end = Math.min(first + opts.batchSize, opts.count);
    const devices = Array.from({ length: end - first }, (_, i) => requestFor(first + i));
    const response = opts.throughDirectory
      ? await send(endpoint, 'POST', { devices: devices.map(({ region }) => ({ region })) } satisfies DirectoryProvisionBatchRequest, opts.token)
      : await send(endpoint, 'POST', { devices }, opts.token);
    // Rate limited and then told to stop: nothing was created, nothing to report.
    if (response.status === 429 && signal?.aborted === true) return void (await response.body?.cancel());
    const json: unknown = await response.json().catch(() => null);
    if (!response.ok) throw new Error(`provisioning failed: ${failure(response.status, json)}`);
    const created: Array<{ id: string; secret: string; region: string; mqttUrl?: string; apiUrl?: string }> = opts.throughDirectory
      ? directoryDevices(directoryProvisionBatchResponseSchema.parse(json))
      : provisionBatchResponseSchema.parse(json).devices;
    if (created.length !== devices.length) throw new Error(`provisioning failed: asked for ${devices.length} devices, got ${created.length}`);
    if (opts.throughDirectory) await consentAtHome(created.map((device, i) => ({ id: device.id, apiUrl: device.apiUrl!, consent: devices[i]!.consent })));
    created.forEach((device, i) => {
      const index = first + i;
      const fleetIndex = opts.firstIndex + index;
      identities[index] = {
        deviceId: device.id,
        secret: device.secret,
        region: device.region,
        profile: isLeaky(fleetIndex, opts.leaky, fleetSize) ? 'leaky' : 'compliant',
        usage: defaultUsageFor(opts.seed, fleetIndex),
        ...(device.mqttUrl === undefined ? {} : { mqttUrl: device.mqttUrl }),
      };
    });
    provisioned += created.length;
    onProgress?.(provisioned);
  };

  const batchStarts = Array.from({ length: Math.ceil(opts.count / opts.batchSize) }, (_, i) => i * opts.batchSize);
  // Once told to stop, no further batch is sent.
  await eachAtMost(batchStarts, opts.concurrency, async (first) => {
    if (signal?.aborted !== true) await provisionBatch(first);
  });
  // After an abort, batches that were never sent leave holes.
  return provisioned === opts.count ? identities : identities.filter((identity) => identity !== undefined);
}

const failure = (status: number, json: unknown): string => {
  const error = errorBodySchema.safeParse(json);
  return `HTTP ${status} ${error.success ? error.data.code : 'unknown_error'}`;
};

const isNothing = (c: ConsentCategories): boolean =>
  c.usage === NO_CONSENT.usage && c.location === NO_CONSENT.location && c.payment === NO_CONSENT.payment && c.diagnostics === NO_CONSENT.diagnostics;

/** A batch the directory could provision only in part (207) fails with the regions whose plane refused or was down. */
function directoryDevices(answer: DirectoryProvisionBatchResponse): DirectoryProvisionBatchResponse['devices'] {
  if (answer.failed.length === 0) return answer.devices;
  const regions = answer.failed.map((f) => `${f.region} (${f.error.code})`).join(', ');
  throw new Error(`provisioning failed: the directory could not provision in ${regions}`);
}
