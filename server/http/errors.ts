import { StoreConflictError } from '../store/types.ts';

/**
 * Every error code the HTTP API answers with, and its status. Codes are stable and documented;
 * clients branch on them, never on messages.
 */
export const ERRORS = {
  BAD_REQUEST: 400,
  VALIDATION_FAILED: 400,
  UNKNOWN_REGION: 400,
  /** A batch request lists more entries than one call may (PROVISION_BATCH_MAX devices, OWNER_BATCH_MAX owners). */
  BATCH_TOO_LARGE: 400,
  /** Consent was sent to the global directory: the owner's choices are set at the home plane's API, never relayed. */
  CONSENT_AT_HOME_PLANE: 400,
  UNAUTHORIZED: 401,
  DEVICE_AUTH_FAILED: 401,
  FORBIDDEN: 403,
  /** A regional operator asked for another region's data. */
  REGION_FORBIDDEN: 403,
  /** No transfer rule in force allows this flow (rule, source region or category): nothing left the plane. */
  TRANSFER_NOT_ALLOWED: 403,
  NOT_FOUND: 404,
  /** The global directory knows no device of this id (unlike NOT_FOUND, which a wrong URL answers too). */
  DEVICE_NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  /** The client sent no complete request within the server's request timeout. */
  REQUEST_TIMEOUT: 408,
  CONFLICT: 409,
  /** An owner and a device of different home regions cannot be linked. */
  REGION_MISMATCH: 409,
  /** No simulated fleet runs in this server's process, so there is nothing to control. */
  FLEET_NOT_RUNNING: 409,
  /** The device was erased (or deleted): nothing is sent to it any more, ever. */
  DEVICE_ERASED: 410,
  PAYLOAD_TOO_LARGE: 413,
  /** A path segment (a route parameter) is longer than the router accepts. */
  URI_TOO_LONG: 414,
  UNSUPPORTED_MEDIA_TYPE: 415,
  /** Too many requests from one client address or with one token in the current window; see Retry-After. */
  RATE_LIMITED: 429,
  /** This token already holds as many live streams as one token may. */
  STREAM_LIMIT_REACHED: 429,
  /** The request line and headers together are larger than the server accepts. */
  HEADERS_TOO_LARGE: 431,
  INTERNAL: 500,
  /** The global directory's call was refused by a region's plane (its configured token) or answered outside the contract. */
  PLANE_REJECTED: 502,
  /** The method is not one HTTP defines (the request could not be parsed). */
  METHOD_NOT_IMPLEMENTED: 501,
  /** A transfer rule's destination did not take the batch (unreachable, timed out or not 2xx). */
  TRANSFER_DESTINATION_FAILED: 502,
  STORE_UNAVAILABLE: 503,
  /** The global directory could not reach a region's plane (down, unreachable, timed out or failing); other regions are unaffected. */
  PLANE_UNAVAILABLE: 503,
  /** The server holds as many live streams as it serves at once. */
  STREAM_CAPACITY_REACHED: 503,
  /** A command could not be sent: the server has no broker connection yet. */
  BROKER_UNAVAILABLE: 503,
  /** Too many device secret checks already running and waiting; the broker refuses that login for now. */
  AUTH_BUSY: 503,
  /** A device did not answer a command in time (it may still act on it later). */
  COMMAND_TIMEOUT: 504,
} as const satisfies Record<string, number>;
export type ErrorCode = keyof typeof ERRORS;

export class HttpError extends Error {
  override readonly name = 'HttpError';
  readonly statusCode: number;

  constructor(
    readonly code: ErrorCode,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.statusCode = ERRORS[code];
  }
}

/** The generic code of each status, for an error raised by fastify or a plugin that carries no code of ours. */
const GENERIC_CODE: Readonly<Partial<Record<number, ErrorCode>>> = {
  400: 'BAD_REQUEST',
  401: 'UNAUTHORIZED',
  403: 'FORBIDDEN',
  404: 'NOT_FOUND',
  405: 'METHOD_NOT_ALLOWED',
  408: 'REQUEST_TIMEOUT',
  409: 'CONFLICT',
  413: 'PAYLOAD_TOO_LARGE',
  414: 'URI_TOO_LONG',
  415: 'UNSUPPORTED_MEDIA_TYPE',
  429: 'RATE_LIMITED',
  431: 'HEADERS_TOO_LARGE',
  501: 'METHOD_NOT_IMPLEMENTED',
};

export function codeForStatus(statusCode: number): ErrorCode {
  return GENERIC_CODE[statusCode] ?? (statusCode >= 500 ? 'INTERNAL' : 'BAD_REQUEST');
}

/**
 * Store calls from request handlers: a store that fails answers 503 STORE_UNAVAILABLE (the cause is
 * logged, not sent); a version race answers 409.
 */
export async function fromStore<T>(call: Promise<T>): Promise<T> {
  try {
    return await call;
  } catch (err) {
    if (err instanceof HttpError) throw err;
    if (err instanceof StoreConflictError) throw new HttpError('CONFLICT', 'the record changed concurrently; retry', { cause: err });
    throw new HttpError('STORE_UNAVAILABLE', 'a store did not answer', { cause: err });
  }
}
