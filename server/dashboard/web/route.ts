/// <reference lib="dom" />
import { useEffect, useState } from 'preact/hooks';

const PAGES = ['owners', 'audit', 'quarantine', 'compliance', 'demo'] as const;
export type PageRoute = { page: 'overview' | (typeof PAGES)[number] } | { page: 'device'; id: string };
/** A page, or chapter N of the guided tour (shown over the page the chapter is about). */
export type Route = PageRoute | { page: 'tour'; chapter: number };

/** Hash routes, so the server serves one page and a reload keeps the view. */
export function parseRoute(hash: string): Route {
  const path = hash.replace(/^#/, '');
  const tour = /^\/tour(?:\/(\d+))?$/.exec(path);
  if (tour) return { page: 'tour', chapter: Number(tour[1] ?? 1) };
  const device = /^\/device\/([^/]+)$/.exec(path);
  if (device?.[1]) return { page: 'device', id: decodeURIComponent(device[1]) };
  const name = PAGES.find((p) => path === `/${p}`);
  if (name) return { page: name };
  return { page: 'overview' };
}

export const deviceHref = (id: string): string => `#/device/${encodeURIComponent(id)}`;
export const tourHref = (chapter: number): string => `#/tour/${chapter}`;

export function useHash(): string {
  const [hash, setHash] = useState(() => location.hash);
  useEffect(() => {
    const onChange = (): void => setHash(location.hash);
    addEventListener('hashchange', onChange);
    return () => removeEventListener('hashchange', onChange);
  }, []);
  return hash;
}
