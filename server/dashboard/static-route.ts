import { readdir, readFile } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { HttpError } from '../http/errors.ts';
import { DASHBOARD_PAGE } from './pages.ts';

/** Where build.ts writes the bundle; a build artifact next to its source, not a setting. */
export const DIST_DIR = fileURLToPath(new URL('./dist/', import.meta.url));

const HTML = 'text/html; charset=utf-8';
const TYPES: Readonly<Record<string, string>> = {
  '.html': HTML,
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
};

/** Everything the page loads comes from this server: the policy also proves the page works offline. */
const CSP = "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'";

interface Asset {
  body: Buffer;
  /** Compressed once at start; the map and the script shrink to about a third. */
  gzipped: Buffer;
  type: string;
}

const asset = (body: Buffer, type: string): Asset => ({ body, gzipped: gzipSync(body, { level: 9 }), type });

async function loadAssets(dir: string): Promise<Map<string, Asset>> {
  const assets = new Map<string, Asset>();
  const names = await readdir(join(dir, 'assets')).catch(() => [] as string[]);
  for (const name of names) {
    const type = TYPES[extname(name)];
    if (type) assets.set(name, asset(await readFile(join(dir, 'assets', name)), type));
  }
  return assets;
}

const acceptsGzip = (request: FastifyRequest): boolean => /\bgzip\b/.test(request.headers['accept-encoding'] ?? '');
const body = (request: FastifyRequest, a: Asset): Buffer => (acceptsGzip(request) ? a.gzipped : a.body);

function send(request: FastifyRequest, reply: FastifyReply, a: Asset): FastifyReply {
  reply.header('content-type', a.type).header('vary', 'accept-encoding').header('x-content-type-options', 'nosniff');
  return acceptsGzip(request) ? reply.header('content-encoding', 'gzip') : reply;
}

/**
 * Serves the built dashboard from memory (it is small): `page` at `/` (a plane's dashboard unless told
 * otherwise; the directory serves its deployment overview, pages.ts), the assets beside it. Asset
 * names carry a content hash, so they are cached for a year; the page itself is revalidated every
 * time, so a new build shows at once.
 */
export const dashboardStatic: FastifyPluginAsync<{ dir?: string; page?: string }> = async (app, options) => {
  const dir = options.dir ?? DIST_DIR;
  const indexBody = await readFile(join(dir, options.page ?? DASHBOARD_PAGE)).catch(() => null);
  const index = indexBody && asset(indexBody, HTML);
  const assets = await loadAssets(dir);
  if (!index) app.log.warn('the dashboard is not built (npm run dashboard:build); / answers 404');

  app.get('/', { config: { access: 'public' }, schema: { hide: true } }, async (request, reply) => {
    if (!index) throw new HttpError('NOT_FOUND', 'the dashboard is not built; run npm run dashboard:build');
    return send(request, reply, index).header('cache-control', 'no-cache').header('content-security-policy', CSP).send(body(request, index));
  });

  app.get<{ Params: { name: string } }>('/assets/:name', { config: { access: 'public' }, schema: { hide: true } }, async (request, reply) => {
    const found = assets.get(request.params.name);
    if (!found) throw new HttpError('NOT_FOUND', `no dashboard asset ${request.params.name}`);
    return send(request, reply, found).header('cache-control', 'public, max-age=31536000, immutable').send(body(request, found));
  });
};
