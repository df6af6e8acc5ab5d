import { StoreConflictError } from '../store/types.ts';

/**
 * Every error code the HTTP API answers with, and its status. Codes are stable and documented;
 * clients branch on them, never on messages.
 */
export const ERRORS = {
  BAD_REQUEST: 400,
  VALIDATION_FAILED: 400,
  UNKNOWN_REGION: 400,
  UNAUTHORIZED: 401,
  DEVICE_AUTH_FAILED: 401,
  FORBIDDEN: 403,
  /** A regional operator asked for another region's data. */
  REGION_FORBIDDEN: 403,
  NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  CONFLICT: 409,
  /** An owner and a device of different home regions cannot be linked. */
  REGION_MISMATCH: 409,
  /** The device was erased (or deleted): nothing is sent to it any more, ever. */
  DEVICE_ERASED: 410,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  INTERNAL: 500,
  STORE_UNAVAILABLE: 503,
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

/** The code a framework-raised 4xx gets when it carries no code of ours. */
export function codeForStatus(statusCode: number): ErrorCode {
  const match = (Object.entries(ERRORS) as [ErrorCode, number][]).find(([code, status]) =>
    status === statusCode && code !== 'VALIDATION_FAILED' && code !== 'UNKNOWN_REGION' && code !== 'DEVICE_AUTH_FAILED' && code !== 'REGION_FORBIDDEN' && code !== 'REGION_MISMATCH' && code !== 'DEVICE_ERASED');
  return match ? match[0] : statusCode >= 500 ? 'INTERNAL' : 'BAD_REQUEST';
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
