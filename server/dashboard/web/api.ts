/// <reference lib="dom" />

/** The API's one error shape, as the page sees it. */
export class ApiError extends Error {
  override readonly name = 'ApiError';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export interface Api {
  get<T>(path: string): Promise<T>;
  put<T>(path: string, body: unknown): Promise<T>;
  /** Bearer header for calls that read the response as a stream. */
  headers: Record<string, string>;
}

async function errorOf(response: Response): Promise<ApiError> {
  const body: unknown = await response.json().catch(() => null);
  if (body && typeof body === 'object' && 'code' in body && 'message' in body) {
    return new ApiError(response.status, String(body.code), String(body.message));
  }
  return new ApiError(response.status, 'HTTP_' + response.status, response.statusText);
}

/** Every call carries the token; the server decides what it may see. */
export function createApi(token: string): Api {
  const headers = { authorization: `Bearer ${token}` };
  const call = async <T>(path: string, init: RequestInit): Promise<T> => {
    const response = await fetch(path, { ...init, headers: { ...headers, ...(init.body ? { 'content-type': 'application/json' } : {}) } });
    if (!response.ok) throw await errorOf(response);
    return (await response.json()) as T;
  };
  return {
    headers,
    get: (path) => call(path, { method: 'GET' }),
    put: (path, body) => call(path, { method: 'PUT', body: JSON.stringify(body) }),
  };
}
