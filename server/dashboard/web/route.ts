/// <reference lib="dom" />
import { useEffect, useState } from 'preact/hooks';

export type Route =
  | { page: 'overview' }
  | { page: 'device'; id: string }
  | { page: 'compliance' }
  | { page: 'demo' };

/** Hash routes, so the server serves one page and a reload keeps the view. */
export function parseRoute(hash: string): Route {
  const path = hash.replace(/^#/, '');
  const device = /^\/device\/([^/]+)$/.exec(path);
  if (device?.[1]) return { page: 'device', id: decodeURIComponent(device[1]) };
  if (path === '/compliance') return { page: 'compliance' };
  if (path === '/demo') return { page: 'demo' };
  return { page: 'overview' };
}

export const deviceHref = (id: string): string => `#/device/${encodeURIComponent(id)}`;

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(location.hash));
  useEffect(() => {
    const onChange = (): void => setRoute(parseRoute(location.hash));
    addEventListener('hashchange', onChange);
    return () => removeEventListener('hashchange', onChange);
  }, []);
  return route;
}
