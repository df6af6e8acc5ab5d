import { readdir, readFile } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyPluginAsync } from 'fastify';
import { HttpError } from '../http/errors.ts';

/** Where build.ts writes the bundle; a build artifact next to its source, not a setting. */
export const DIST_DIR = fileURLToPath(new URL('./dist/', import.meta.url));

const TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
};

/** Everything the page loads comes from this server: the policy also proves the page works offline. */
const CSP = "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'";

interface Asset {
  body: Buffer;
  type: string;
}

async function loadAssets(dir: string): Promise<Map<string, Asset>> {
  const assets = new Map<string, Asset>();
  const names = await readdir(join(dir, 'assets')).catch(() => [] as string[]);
  for (const name of names) {
    const type = TYPES[extname(name)];
    if (type) assets.set(name, { body: await readFile(join(dir, 'assets', name)), type });
  }
  return assets;
}

/**
 * Serves the built dashboard from memory (it is small). Asset names carry a content hash, so they are
 * cached for a year; the page itself is revalidated every time, so a new build shows at once.
 */
export const dashboardStatic: FastifyPluginAsync<{ dir?: string }> = async (app, options) => {
  const dir = options.dir ?? DIST_DIR;
  const index = await readFile(join(dir, 'index.html')).catch(() => null);
  const assets = await loadAssets(dir);
  if (!index) app.log.warn('the dashboard is not built (npm run dashboard:build); / answers 404');

  app.get('/', { config: { access: 'public' }, schema: { hide: true } }, async (_request, reply) => {
    if (!index) throw new HttpError('NOT_FOUND', 'the dashboard is not built; run npm run dashboard:build');
    return reply
      .header('content-type', TYPES['.html'])
      .header('cache-control', 'no-cache')
      .header('content-security-policy', CSP)
      .header('x-content-type-options', 'nosniff')
      .send(index);
  });

  app.get<{ Params: { name: string } }>('/assets/:name', { config: { access: 'public' }, schema: { hide: true } }, async (request, reply) => {
    const asset = assets.get(request.params.name);
    if (!asset) throw new HttpError('NOT_FOUND', `no dashboard asset ${request.params.name}`);
    return reply
      .header('content-type', asset.type)
      .header('cache-control', 'public, max-age=31536000, immutable')
      .header('x-content-type-options', 'nosniff')
      .send(asset.body);
  });
};
