/// <reference lib="dom" />
import { useEffect, useState } from 'preact/hooks';
import { ApiError, type Api } from './api.ts';

export interface Polled<T> {
  data: T | null;
  error: ApiError | null;
}

/** Fetches a path now and every `everyMs`; keeps the last good answer while a later one fails. */
export function usePoll<T>(api: Api, path: string, everyMs: number, refreshKey = 0): Polled<T> {
  const [state, setState] = useState<Polled<T>>({ data: null, error: null });
  useEffect(() => {
    let stopped = false;
    const load = (): void => {
      api.get<T>(path).then(
        (data) => !stopped && setState({ data, error: null }),
        (error: unknown) =>
          !stopped && setState((s) => ({ data: s.data, error: error instanceof ApiError ? error : new ApiError(0, 'NETWORK', String(error)) })),
      );
    };
    load();
    const timer = setInterval(load, everyMs);
    return () => {
      stopped = true;
      clearInterval(timer);
    };
  }, [api, path, everyMs, refreshKey]);
  return state;
}
