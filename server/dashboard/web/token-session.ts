/// <reference lib="dom" />
import { useEffect, useMemo, useState } from 'preact/hooks';
import { createApi, describeError, type Api } from './api.ts';

export interface TokenSession<T> {
  /** Set while a token is held, before it is proven too. */
  api: Api | null;
  /** The answer to the proving request: signed in once it is here. */
  answer: T | null;
  error: string | null;
  signIn(token: string): void;
  signOut(): void;
}

/**
 * A bearer token kept for the tab only (sessionStorage under `key`: closing the tab signs out, and no
 * other site can read it), proven by the answer to `path`; a token that is refused is forgotten and
 * the refusal shown.
 */
export function useTokenSession<T>(key: string, path: string): TokenSession<T> {
  const [token, setToken] = useState<string | null>(() => sessionStorage.getItem(key));
  const [answer, setAnswer] = useState<T | null>(null);
  const [error, setError] = useState<string | null>(null);
  const api = useMemo(() => (token ? createApi(token) : null), [token]);

  useEffect(() => {
    if (!api) return;
    api.get<T>(path).then(setAnswer, (err: unknown) => {
      setError(describeError(err));
      sessionStorage.removeItem(key);
      setToken(null);
    });
  }, [api]);

  return {
    api,
    answer,
    error,
    signIn: (value) => {
      setError(null);
      sessionStorage.setItem(key, value);
      setToken(value);
    },
    signOut: () => {
      sessionStorage.removeItem(key);
      setAnswer(null);
      setToken(null);
    },
  };
}
