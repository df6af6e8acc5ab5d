import type { Logger } from 'pino';
import { PROVISION_BATCH_MAX, type ErrorBody, type ProvisionCredentials } from '../../schema/api.ts';
import type { DirectoryBatchFailure, DirectoryProvisionBatchResponse, DirectoryProvisionRequest, DirectoryProvisionResponse } from '../../schema/directory.ts';
import type { RegionId } from '../../schema/regions.ts';
import { HttpError } from '../http/errors.ts';
import type { HomeStore } from './home-store.ts';
import type { PlaneClient } from './plane-client.ts';
import { indexesBy } from '../group-by.ts';

export interface ProvisionDeps {
  planes: ReadonlyMap<RegionId, PlaneClient>;
  homes: HomeStore;
  logger: Logger;
}

/**
 * Provisioning through the directory, as named steps: find the home plane, have it provision (it
 * mints the id and the secret and keeps the secret's hash), record id -> region here, answer with
 * the plane's endpoints. The request carries only the region, so the plane provisions with nothing
 * consented, and is asked to answer without its first consent record (`?omit=consent`), so no consent
 * record crosses the directory. The secret passes through in memory only: it is in no step's log line and
 * never reaches the home store.
 */
const steps = {
  planeFor(deps: ProvisionDeps, region: RegionId): PlaneClient {
    const plane = deps.planes.get(region);
    if (!plane) throw new HttpError('UNKNOWN_REGION', `no plane is configured for region ${region}`);
    return plane;
  },

  /** A device the plane made but the directory could not record is taken back, so no device is left unroutable. */
  async record(deps: ProvisionDeps, plane: PlaneClient, devices: readonly ProvisionCredentials[]): Promise<void> {
    const createdAt = new Date();
    try {
      await deps.homes.record(devices.map((d) => ({ deviceId: d.id, region: d.region, createdAt })));
    } catch (err) {
      deps.logger.error({ err, region: plane.plane.region, devices: devices.length }, 'could not record device homes; taking the devices back');
      const undone = await Promise.allSettled(devices.map((d) => plane.deleteDevice(d.id)));
      const left = undone.filter((u) => u.status === 'rejected').length;
      if (left > 0)
        deps.logger.error({ region: plane.plane.region, devices: left }, 'devices provisioned in their plane but not recorded here could not be taken back');
      throw new HttpError('STORE_UNAVAILABLE', 'the directory store did not answer; nothing was provisioned', { cause: err });
    }
  },

  withEndpoints(plane: PlaneClient, device: ProvisionCredentials): DirectoryProvisionResponse {
    const { mqttUrl, mqttsUrl, apiUrl } = plane.plane;
    return { id: device.id, region: device.region, secret: device.secret, mqttUrl, ...(mqttsUrl ? { mqttsUrl } : {}), apiUrl };
  },
};

export async function provisionOne(deps: ProvisionDeps, request: DirectoryProvisionRequest): Promise<DirectoryProvisionResponse> {
  const plane = steps.planeFor(deps, request.region);
  const device = await plane.provision({ region: request.region });
  await steps.record(deps, plane, [device]);
  deps.logger.info({ region: plane.plane.region, devices: 1 }, 'provisioned through the directory');
  return steps.withEndpoints(plane, device);
}

/** What a batch came to: 201 when every region was provisioned, 207 when only some were. */
export interface BatchOutcome {
  statusCode: 201 | 207;
  body: DirectoryProvisionBatchResponse;
}

/**
 * One call per region's plane, all at once; a region whose plane fails is listed in `failed` with
 * its coded error and the others are provisioned all the same. A region without a plane refuses the
 * whole batch before anything is provisioned, as the plane's own batch does for an unknown region.
 */
export async function provisionBatch(deps: ProvisionDeps, requests: readonly DirectoryProvisionRequest[]): Promise<BatchOutcome> {
  if (requests.length > PROVISION_BATCH_MAX) {
    throw new HttpError('BATCH_TOO_LARGE', `at most ${PROVISION_BATCH_MAX} devices per batch; this one lists ${requests.length}`);
  }
  const groups = indexesBy(requests, (request) => request.region);
  const planes = new Map([...groups.keys()].map((region) => [region, steps.planeFor(deps, region)]));

  const results: (DirectoryProvisionResponse | undefined)[] = new Array(requests.length);
  const failed: DirectoryBatchFailure[] = [];
  const errors = new Map<RegionId, HttpError>();
  await Promise.all(
    [...groups].map(async ([region, indexes]) => {
      const plane = planes.get(region)!;
      try {
        const devices = await plane.provisionBatch(indexes.map((i) => ({ region: requests[i]!.region })));
        await steps.record(deps, plane, devices);
        devices.forEach((device, k) => {
          results[indexes[k]!] = steps.withEndpoints(plane, device);
        });
        deps.logger.info({ region, devices: devices.length }, 'provisioned through the directory');
      } catch (err) {
        const httpError = err instanceof HttpError ? err : new HttpError('INTERNAL', 'internal error', { cause: err });
        if (!(err instanceof HttpError)) deps.logger.error({ err, region }, 'provisioning a region of the batch failed');
        errors.set(region, httpError);
        const error: ErrorBody = { statusCode: httpError.statusCode, code: httpError.code, message: httpError.message };
        deps.logger.warn({ region, devices: indexes.length, code: error.code }, 'a region of the batch was not provisioned');
        failed.push({ region, indexes, error });
      }
    }),
  );
  failed.sort((a, b) => a.indexes[0]! - b.indexes[0]!);
  const devices = results.filter((d): d is DirectoryProvisionResponse => d !== undefined);
  const firstError = failed[0] && errors.get(failed[0].region);
  if (devices.length === 0 && firstError) throw firstError;
  return { statusCode: failed.length === 0 ? 201 : 207, body: { devices, failed } };
}
