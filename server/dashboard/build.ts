import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { geoNaturalEarth1, geoPath } from 'd3-geo';
import { build } from 'esbuild';
import { feature } from 'topojson-client';
import type { GeometryCollection, Topology } from 'topojson-specification';
import { DASHBOARD_PAGE, DEPLOYMENT_PAGE } from './pages.ts';
import { MAP_CENTRE, MAP_HEIGHT, MAP_SCALE, MAP_WIDTH } from './web/map-projection.ts';

/**
 * Builds the dashboard into dist/: one script, one stylesheet (names carry a content hash) and the
 * page, which carries the world map as an inline SVG symbol drawn here from Natural Earth 1:110m
 * (world-atlas), so the browser downloads no geography library and no tiles.
 */
const here = fileURLToPath(new URL('.', import.meta.url));
const dist = join(here, 'dist');
const hash = (data: Uint8Array | string): string => createHash('sha256').update(data).digest('hex').slice(0, 12);

async function landPath(): Promise<string> {
  const file = createRequire(import.meta.url).resolve('world-atlas/land-110m.json');
  const topology = JSON.parse(await readFile(file, 'utf8')) as Topology<{ land: GeometryCollection }>;
  const land = feature(topology, topology.objects.land);
  const projection = geoNaturalEarth1().scale(MAP_SCALE).translate([MAP_CENTRE[0], MAP_CENTRE[1]]);
  return geoPath(projection).digits(1)(land) ?? '';
}

/** The dashboard of one plane (web/main.ts) and the deployment overview the directory serves (web/deployment/main.ts), one stylesheet for both. */
async function bundle(): Promise<{ app: Uint8Array; deployment: Uint8Array; css: Uint8Array }> {
  const result = await build({
    entryPoints: { app: join(here, 'web', 'main.ts'), deployment: join(here, 'web', 'deployment', 'main.ts'), styles: join(here, 'web', 'styles.css') },
    bundle: true,
    minify: true,
    format: 'esm',
    target: 'es2022',
    write: false,
    outdir: dist,
    legalComments: 'none',
    logLevel: 'warning',
  });
  const output = (name: string): Uint8Array => {
    const file = result.outputFiles.find((f) => f.path.endsWith(name));
    if (!file) throw new Error(`esbuild produced no ${name}`);
    return file.contents;
  };
  return { app: output('/app.js'), deployment: output('/deployment.js'), css: output('/styles.css') };
}

/** A cup on a saucer in the first region's blue, with a steam line: the tab's icon. */
const FAVICON = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><path d="M6 11h16v7a7 7 0 0 1-7 7h-2a7 7 0 0 1-7-7z" fill="#0072B2"/><path d="M22 13h2.5a3.5 3.5 0 0 1 0 7H21" fill="none" stroke="#0072B2" stroke-width="2.5"/><path d="M3 27h24" stroke="#1a1a1a" stroke-width="2.5" stroke-linecap="round"/><path d="M12 8c-2-2 2-3 0-6M17 8c-2-2 2-3 0-6" fill="none" stroke="#4d4d4d" stroke-width="1.8" stroke-linecap="round"/></svg>
`;

interface PageParts {
  title: string;
  script: string;
  style: string;
  icon: string;
  /** Before the app's root: the plane's dashboard carries the world map here. */
  prelude: string;
  noscript: string;
}

function page(parts: PageParts): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${parts.title}</title>
<link rel="icon" type="image/svg+xml" href="/assets/${parts.icon}">
<link rel="stylesheet" href="/assets/${parts.style}">
<script type="module" src="/assets/${parts.script}"></script>
</head>
<body>
${parts.prelude}<div id="app"><p>Loading…</p></div>
<noscript>${parts.noscript}</noscript>
</body>
</html>
`;
}

async function replaceFile(path: string, data: Uint8Array | string): Promise<void> {
  const aside = `${path}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  await writeFile(aside, data);
  await rename(aside, path);
}

export async function buildDashboard(): Promise<{ dir: string; bytes: number }> {
  const [{ app, deployment, css }, land] = await Promise.all([bundle(), landPath()]);
  const scriptName = `app-${hash(app)}.js`;
  const deploymentName = `deployment-${hash(deployment)}.js`;
  const styleName = `app-${hash(css)}.css`;
  const iconName = `favicon-${hash(FAVICON)}.svg`;
  const common = { style: styleName, icon: iconName };
  const pages: [string, string][] = [
    [
      DASHBOARD_PAGE,
      page({
        ...common,
        title: 'brewtel dashboard',
        script: scriptName,
        prelude: `<svg class="sprite" width="0" height="0" aria-hidden="true"><symbol id="land" viewBox="0 0 ${MAP_WIDTH} ${MAP_HEIGHT}"><path d="${land}"/></symbol></svg>\n`,
        noscript: 'The dashboard needs JavaScript; the API itself is documented at <a href="/docs">/docs</a>.',
      }),
    ],
    [
      DEPLOYMENT_PAGE,
      page({ ...common, title: 'brewtel deployment', script: deploymentName, prelude: '', noscript: 'The deployment overview needs JavaScript.' }),
    ],
  ];
  // Each file appears whole (written aside, then renamed), the pages last and stale assets after them:
  // a server starting meanwhile, or another build of the same sources (test files build in parallel),
  // never reads a half-written or missing file.
  await mkdir(join(dist, 'assets'), { recursive: true });
  const assets: [string, Uint8Array | string][] = [
    [scriptName, app],
    [deploymentName, deployment],
    [styleName, css],
    [iconName, FAVICON],
  ];
  await Promise.all(assets.map(([name, data]) => replaceFile(join(dist, 'assets', name), data)));
  await Promise.all(pages.map(([name, html]) => replaceFile(join(dist, name), html)));
  const keep = new Set(assets.map(([name]) => name));
  for (const name of await readdir(join(dist, 'assets'))) {
    if (!keep.has(name) && !name.includes('.tmp-')) await rm(join(dist, 'assets', name), { force: true });
  }
  const bytes = [...assets.map(([, data]) => data), ...pages.map(([, html]) => html)].reduce((n, data) => n + Buffer.byteLength(data), 0);
  return { dir: dist, bytes };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const { dir, bytes } = await buildDashboard();
  console.log(`dashboard built in ${dir} (${(bytes / 1024).toFixed(1)} KiB)`);
}
