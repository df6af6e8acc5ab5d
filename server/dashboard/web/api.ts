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
  post<T>(path: string, body: unknown): Promise<T>;
  delete<T>(path: string): Promise<T>;
  /** The answer as a file (an owner's export), for the browser to save. */
  blob(path: string): Promise<Blob>;
  /** Bearer header for calls that read the response as a stream. */
  headers: Record<string, string>;
  /** The signed-in token, for the demo command the user copies (never sent anywhere else). */
  token: string;
}

async function errorOf(response: Response): Promise<ApiError> {
  const body: unknown = await response.json().catch(() => null);
  if (body && typeof body === 'object' && 'code' in body && 'message' in body) {
    return new ApiError(response.status, String(body.code), String(body.message));
  }
  return new ApiError(response.status, `HTTP_${response.status}`, response.statusText);
}

/** "message (CODE)" for the page, or a plain sentence when the server could not be reached. */
export const describeError = (err: unknown): string => (err instanceof ApiError ? `${err.message} (${err.code})` : 'the server could not be reached');

/** Every call carries the token; the server decides what it may see. */
export function createApi(token: string): Api {
  const headers = { authorization: `Bearer ${token}` };
  const send = async (path: string, init: RequestInit): Promise<Response> => {
    const response = await fetch(path, { ...init, headers: { ...headers, ...(init.body ? { 'content-type': 'application/json' } : {}) } });
    if (!response.ok) throw await errorOf(response);
    return response;
  };
  const call = async <T>(path: string, init: RequestInit): Promise<T> => (await (await send(path, init)).json()) as T;
  return {
    headers,
    token,
    get: (path) => call(path, { method: 'GET' }),
    put: (path, body) => call(path, { method: 'PUT', body: JSON.stringify(body) }),
    post: (path, body) => call(path, { method: 'POST', body: JSON.stringify(body) }),
    delete: (path) => call(path, { method: 'DELETE' }),
    blob: async (path) => (await send(path, { method: 'GET' })).blob(),
  };
}
