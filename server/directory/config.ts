import { z } from 'zod';
import { logLevelSchema } from '../../schema/log-level.ts';
import { planeEndpointsSchema } from '../../schema/directory.ts';
import { httpRateLimitSchema } from '../config.ts';

/**
 * One region's plane as the directory knows it: where devices and people reach it, and the bearer
 * token the directory provisions with there. That token needs a role the plane's
 * `POST /api/v1/devices` accepts: `operator:REGION` of the plane's region is the least one (an admin
 * token works too, and gives the directory far more than it needs). The plane presents the same token
 * when it tells the directory about an erasure (`DELETE /api/v1/directory/devices/:id`), so here it
 * also identifies that plane, and lets it remove its own region's devices only.
 */
export const planeConfigSchema = planeEndpointsSchema.extend({
  token: z.string().min(16),
});
export type PlaneConfig = z.infer<typeof planeConfigSchema>;

/** The global directory's one configuration object, validated at the edge and passed down. */
export const directoryConfigSchema = z
  .object({
    planes: z
      .array(planeConfigSchema)
      .min(1)
      .refine((planes) => new Set(planes.map((p) => p.region)).size === planes.length, 'one plane per region'),
    /** Provisions through the directory and reads everything it holds. */
    adminToken: z.string().min(16),
    /**
     * Looks up one device's home (`GET /api/v1/directory/devices/:id`) and nothing else: given to the
     * planes' brokers (to redirect a misdirected device) and to firmware (a 3.1.1 device refused by a
     * plane asks again).
     */
    lookupToken: z.string().min(16),
    /** Where the SQLite store lives when storeUrl is not set (`<dataDir>/device-homes.db`). */
    dataDir: z.string().default('data'),
    /** The directory's own store, `file:…` (SQLite) or `postgresql://…`; never a plane's store. */
    storeUrl: z.string().optional(),
    http: z
      .object({
        host: z.string().default('127.0.0.1'),
        port: z.int().min(0).max(65535).default(8090),
        /** The server's request limits (per address, per token), so a leaked lookup token cannot flood the directory. */
        rateLimit: httpRateLimitSchema.prefault({}),
      })
      .prefault({}),
    /** A plane that has not answered a provisioning call within this time is reported unavailable (503) for its region. */
    planeTimeoutMs: z.int().min(1).default(10_000),
    /** A plane whose `GET /health` has not answered within this time shows as down in the planes status; the directory's own store likewise in its /health. */
    healthTimeoutMs: z.int().min(1).default(1_000),
    logLevel: logLevelSchema.default('info'),
  })
  .refine(
    (c) => {
      const tokens = [c.adminToken, c.lookupToken, ...c.planes.map((p) => p.token)];
      return new Set(tokens).size === tokens.length;
    },
    { message: 'the admin token, the lookup token and each plane token must all differ (a token names who holds it)', path: ['planes'] },
  );
export type DirectoryConfig = z.infer<typeof directoryConfigSchema>;
export type DirectoryConfigInput = z.input<typeof directoryConfigSchema>;
