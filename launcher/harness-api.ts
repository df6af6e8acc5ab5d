import type { z } from 'zod';
import { errorBodySchema } from '../schema/api.ts';

/** A refusal or an unexpected answer of the server, with its stable error code. */
export class HarnessApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'HarnessApiError';
  }
}

export type ApiCall = <T>(method: string, path: string, schema: z.ZodType<T>, body?: unknown) => Promise<T>;

/** Calls the server's HTTP API as the admin; an error answer becomes a HarnessApiError with its code. */
export function apiCaller(httpUrl: string, adminToken: string): ApiCall {
  return async (method, path, schema, body) => {
    const response = await fetch(`${httpUrl}${path}`, {
      method,
      headers: { authorization: `Bearer ${adminToken}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const json: unknown = await response.json().catch(() => null);
    if (!response.ok) {
      const error = errorBodySchema.safeParse(json);
      throw new HarnessApiError(
        response.status,
        error.success ? error.data.code : 'UNKNOWN',
        `${method} ${path}: ${response.status} ${error.success ? `${error.data.code}: ${error.data.message}` : 'no error body'}`,
      );
    }
    return schema.parse(json);
  };
}
