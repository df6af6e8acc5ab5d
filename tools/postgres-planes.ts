/**
 * `npm run postgres:planes -- --regions eu,us,cn --prefix brewtel [--admin-url URL]`: one PostgreSQL
 * database per region, each owned by a login role of its own that no other region's role can
 * connect to (docs/planes.md, "One PostgreSQL role per region"). Prints the store URL each plane
 * puts in its config, and nowhere else. Idempotent: run it again and it changes nothing, except
 * new regions (and every role's password with --reset-passwords).
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { z } from 'zod';
import { runIfEntry } from '../cli/entry.ts';
import { readFlags, type Env } from '../cli/flags.ts';
import { regionListSchema } from '../schema/regions.ts';

export const USAGE = `Usage: npm run postgres:planes -- --regions LIST [options]

Creates per region a database PREFIX_REGION owned by a login role PREFIX_REGION, revokes CONNECT on
it from PUBLIC and grants it to that role only, and prints each plane's store URL.

  --regions LIST       comma-separated regions, e.g. eu,us,cn
  --prefix P           database and role name prefix (default brewtel)
  --admin-url URL      a superuser's connection (default postgresql://postgres@127.0.0.1:5432/postgres;
                       also BREWTEL_PG_ADMIN_URL)
  --store-host HOST    host[:port] to put in the printed URLs (default the admin URL's)
  --reset-passwords    give existing roles new passwords (new roles always get one)
  --json               print {"stores": {REGION: URL}} instead of lines
  -h, --help           this text`;

const optionsSchema = z.object({
  regions: regionListSchema,
  // Lower case so the quoted identifiers below are the names psql users type unquoted.
  prefix: z.string().regex(/^[a-z][a-z0-9_]{0,30}$/, 'a prefix is up to 31 lowercase letters, digits or _, starting with a letter'),
  adminUrl: z.string().min(1),
  storeHost: z.string().min(1).optional(),
  resetPasswords: z.boolean(),
});
export type PlaneDatabaseOptions = z.input<typeof optionsSchema>;

/** One region's result; `password` is null for a role that existed and kept its password. */
export interface PlaneDatabase {
  region: string;
  database: string;
  role: string;
  password: string | null;
  /** The store URL for that plane's config (`stores.REGION`); the password shown as `PASSWORD` when kept. */
  url: string;
}

interface Plane {
  region: string;
  name: string;
  password: string | null;
}

interface Step {
  name: string;
  run(admin: pg.Client, plane: Plane, adminUrl: string): Promise<void>;
}

const ident = (name: string): string => `"${name}"`;

/**
 * In this order: the role, its database, then who may connect (nobody but the role; superusers
 * always can), then the public schema, so the role owns what its migrations create in it.
 */
const STEPS: readonly Step[] = [
  {
    name: 'role',
    async run(admin, plane) {
      const exists = (await admin.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [plane.name])).rowCount === 1;
      const password = plane.password === null ? '' : ` PASSWORD ${admin.escapeLiteral(plane.password)}`;
      const attributes = 'LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS';
      if (!exists) await admin.query(`CREATE ROLE ${ident(plane.name)} ${attributes}${password}`);
      else await admin.query(`ALTER ROLE ${ident(plane.name)} ${attributes}${password}`);
    },
  },
  {
    name: 'database',
    async run(admin, plane) {
      const exists = (await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [plane.name])).rowCount === 1;
      if (!exists) await admin.query(`CREATE DATABASE ${ident(plane.name)} OWNER ${ident(plane.name)}`);
      else await admin.query(`ALTER DATABASE ${ident(plane.name)} OWNER TO ${ident(plane.name)}`);
    },
  },
  {
    name: 'connect',
    async run(admin, plane) {
      await admin.query(`REVOKE ALL ON DATABASE ${ident(plane.name)} FROM PUBLIC`);
      await admin.query(`GRANT CONNECT, TEMPORARY ON DATABASE ${ident(plane.name)} TO ${ident(plane.name)}`);
    },
  },
  {
    name: 'schema',
    async run(_admin, plane, adminUrl) {
      const inside = new pg.Client({ connectionString: withDatabase(adminUrl, plane.name) });
      await inside.connect();
      try {
        await inside.query(`ALTER SCHEMA public OWNER TO ${ident(plane.name)}`);
        await inside.query('REVOKE ALL ON SCHEMA public FROM PUBLIC');
      } finally {
        await inside.end();
      }
    },
  },
];

export async function setUpPlaneDatabases(input: PlaneDatabaseOptions): Promise<PlaneDatabase[]> {
  const options = optionsSchema.parse(input);
  const admin = new pg.Client({ connectionString: options.adminUrl });
  await admin.connect();
  const results: PlaneDatabase[] = [];
  try {
    for (const region of options.regions) {
      const name = `${options.prefix}_${region}`;
      const existed = (await admin.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [name])).rowCount === 1;
      const plane: Plane = { region, name, password: existed && !options.resetPasswords ? null : randomBytes(24).toString('base64url') };
      for (const step of STEPS) {
        try {
          await step.run(admin, plane, options.adminUrl);
        } catch (error) {
          throw new Error(`${region}: step ${step.name} failed: ${(error as Error).message}`, { cause: error });
        }
      }
      results.push({ region, database: name, role: name, password: plane.password, url: storeUrl(options, plane) });
    }
  } finally {
    await admin.end();
  }
  return results;
}

function storeUrl(options: z.infer<typeof optionsSchema>, plane: Plane): string {
  const url = new URL(options.adminUrl);
  if (options.storeHost) url.host = options.storeHost;
  url.username = plane.name;
  url.password = plane.password ?? 'PASSWORD';
  url.pathname = `/${plane.name}`;
  url.search = '';
  return url.toString();
}

function withDatabase(adminUrl: string, database: string): string {
  const url = new URL(adminUrl);
  url.pathname = `/${database}`;
  return url.toString();
}

export async function main(argv: readonly string[], env: Env): Promise<number> {
  const flags = readFlags(argv, {
    regions: { type: 'string' },
    prefix: { type: 'string' },
    'admin-url': { type: 'string' },
    'store-host': { type: 'string' },
    'reset-passwords': { type: 'boolean' },
    json: { type: 'boolean' },
  });
  if (flags.help) {
    console.log(USAGE);
    return 0;
  }
  if ('error' in flags) {
    console.error(`error: ${flags.error}\n(see --help)`);
    return 2;
  }
  const { values } = flags;
  const parsed = optionsSchema.safeParse({
    regions: values.regions?.split(',').map((r) => r.trim()) ?? [],
    prefix: values.prefix ?? 'brewtel',
    adminUrl: values['admin-url'] ?? env.BREWTEL_PG_ADMIN_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres',
    ...(values['store-host'] ? { storeHost: values['store-host'] } : {}),
    resetPasswords: values['reset-passwords'] ?? false,
  });
  if (!parsed.success) {
    console.error(`error: ${z.prettifyError(parsed.error)}\n(see --help)`);
    return 2;
  }
  const planes = await setUpPlaneDatabases(parsed.data);
  if (values.json) {
    console.log(JSON.stringify({ stores: Object.fromEntries(planes.map((p) => [p.region, p.url])) }));
    return 0;
  }
  for (const p of planes) {
    console.log(`${p.region}: --store ${p.region}=${p.url}`);
    if (p.password === null) console.log(`    (role ${p.role} existed: its password is unchanged; --reset-passwords gives it a new one)`);
  }
  console.log('Give each plane only its own URL; new passwords are shown once.');
  return 0;
}

runIfEntry(import.meta.url, 'postgres-planes', main);
