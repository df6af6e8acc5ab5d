import type { z } from 'zod';
import {
  errorBodySchema,
  healthResponseSchema,
  provisionCredentialsBatchSchema,
  provisionCredentialsSchema,
  regionsResponseSchema,
  type ProvisionCredentials,
} from '../../schema/api.ts';
import type { DirectoryProvisionRequest } from '../../schema/directory.ts';
import { complianceReportSchema, type ComplianceReport } from '../../schema/privacy.ts';
import { HttpError } from '../http/errors.ts';
import type { PlaneConfig } from './config.ts';

/**
 * The directory's calls to one plane's server over HTTP. Every failure becomes the coded error of that
 * plane's region alone: unreachable, timed out or 5xx is 503 PLANE_UNAVAILABLE; the plane refusing the
 * directory's call (its token, a region it does not hold) or answering outside the contract is 502
 * PLANE_REJECTED; the plane's rate limit is passed on as 429 RATE_LIMITED. Bodies are never logged:
 * a provisioning answer carries the device's one-time secret.
 */
export interface PlaneClient {
  readonly plane: PlaneConfig;
  provision(request: DirectoryProvisionRequest): Promise<ProvisionCredentials>;
  provisionBatch(requests: readonly DirectoryProvisionRequest[]): Promise<ProvisionCredentials[]>;
  /** Takes back a device the directory could not record (its answer never reached anyone). */
  deleteDevice(deviceId: string): Promise<void>;
  /** 'up' on 200, 'degraded' on a 503 health answer, 'down' otherwise (never throws). */
  health(): Promise<'up' | 'degraded' | 'down'>;
  /** The plane's counts for its own region; null when it cannot be read (never throws). */
  counts(): Promise<{ stored: number; refused: number } | null>;
  /** The plane's compliance report of its own region (the directory's operator token sees no other). */
  compliance(): Promise<ComplianceReport>;
}

export interface PlaneClientOptions {
  timeoutMs: number;
  healthTimeoutMs: number;
}

export function planeClient(plane: PlaneConfig, options: PlaneClientOptions): PlaneClient {
  const base = plane.apiUrl.replace(/\/+$/, '');
  const unavailable = (why: string, cause?: unknown): HttpError =>
    new HttpError('PLANE_UNAVAILABLE', `the plane of region ${plane.region} is unavailable (${why}); other regions are unaffected`, { cause });

  async function call(method: string, path: string, body: unknown, timeoutMs: number): Promise<Response> {
    try {
      return await fetch(`${base}${path}`, {
        method,
        headers: { authorization: `Bearer ${plane.token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (err) {
      throw unavailable((err as Error).name === 'TimeoutError' ? `no answer within ${timeoutMs} ms` : 'not reachable', err);
    }
  }

  async function answer<S extends z.ZodType>(response: Response, expected: number, schema: S): Promise<z.infer<S>> {
    const json: unknown = await response.json().catch(() => undefined);
    if (response.status === expected) {
      const parsed = schema.safeParse(json);
      if (parsed.success) return parsed.data;
      throw new HttpError('PLANE_REJECTED', `the plane of region ${plane.region} answered outside the contract`);
    }
    if (response.status >= 500) throw unavailable(`it answered ${response.status}`);
    // A plane's rate limit is the one refusal a well-formed call can meet: passed on, so the caller waits.
    if (response.status === 429) {
      const error = errorBodySchema.safeParse(json);
      throw new HttpError('RATE_LIMITED', error.success ? error.data.message : `the plane of region ${plane.region} asks to retry later`);
    }
    // Anything else (401/403: the directory's token; 400 UNKNOWN_REGION: a plane of another region)
    // means this plane's configuration is wrong, not the caller's request.
    throw new HttpError('PLANE_REJECTED', `the plane of region ${plane.region} refused the directory's call (${response.status}); check its configuration`);
  }

  /** A plane's answer must be for the region asked: anything else is a misconfigured plane, not a home. */
  const inRegion = (device: ProvisionCredentials): ProvisionCredentials => {
    if (device.region !== plane.region) throw new HttpError('PLANE_REJECTED', `the plane configured for region ${plane.region} provisioned in another region`);
    return device;
  };

  return {
    plane,
    async provision(request) {
      return inRegion(await answer(await call('POST', '/api/v1/devices?omit=consent', request, options.timeoutMs), 201, provisionCredentialsSchema));
    },
    async provisionBatch(requests) {
      const response = await call('POST', '/api/v1/devices:batch?omit=consent', { devices: requests }, options.timeoutMs);
      const { devices } = await answer(response, 201, provisionCredentialsBatchSchema);
      if (devices.length !== requests.length) throw new HttpError('PLANE_REJECTED', `the plane of region ${plane.region} answered a batch of another length`);
      return devices.map(inRegion);
    },
    async deleteDevice(deviceId) {
      const response = await call('DELETE', `/api/v1/devices/${encodeURIComponent(deviceId)}`, undefined, options.timeoutMs);
      await response.body?.cancel();
      if (!response.ok) throw unavailable(`deleting answered ${response.status}`);
    },
    async health() {
      try {
        const response = await fetch(`${base}/health`, { signal: AbortSignal.timeout(options.healthTimeoutMs) });
        const parsed = healthResponseSchema.safeParse(await response.json());
        if (!parsed.success) return 'down';
        return response.status === 200 ? 'up' : response.status === 503 ? 'degraded' : 'down';
      } catch {
        return 'down';
      }
    },
    async counts() {
      try {
        const response = await call('GET', '/api/v1/regions', undefined, options.healthTimeoutMs);
        const { regions } = await answer(response, 200, regionsResponseSchema);
        const own = regions.find((r) => r.region === plane.region);
        return own === undefined ? null : { stored: own.stored, refused: own.refused };
      } catch {
        return null;
      }
    },
    async compliance() {
      const report = await answer(await call('GET', '/api/v1/compliance', undefined, options.timeoutMs), 200, complianceReportSchema);
      if (report.regions.length !== 1 || report.regions[0]?.region !== plane.region) {
        throw new HttpError('PLANE_REJECTED', `the plane configured for region ${plane.region} reported on other regions`);
      }
      return report;
    },
  };
}
