import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyRequest, onRequestHookHandler } from 'fastify';
import type { RegionId } from '../../schema/regions.ts';
import type { Role, ServerConfig } from '../config.ts';

/** Roles are defined with the token configuration; routes and the dashboard name them from here. */
export type { Role };
import { HttpError } from './errors.ts';

/** A bearer token, who holds it and what it may do. */
export interface TokenGrant {
  token: string;
  role: Role;
  /** Recorded as the actor of changes made with this token (consent ledger, audit log). */
  subject: string;
  /** Operators only: the one region whose data they may see and change. */
  region?: RegionId;
}

export interface Principal {
  role: Role;
  subject: string;
  region?: RegionId;
}

/** Every token the configuration knows: the admin and broker tokens plus `tokens`. */
export function grantsOf(config: Pick<ServerConfig, 'adminToken' | 'brokerToken' | 'tokens'>): TokenGrant[] {
  return [
    { token: config.adminToken, role: 'admin', subject: 'admin' },
    { token: config.brokerToken, role: 'broker', subject: 'broker' },
    ...config.tokens.map((t, i): TokenGrant => {
      const subject = t.subject ?? `${t.role}${t.region === undefined ? '' : `-${t.region}`}-${i + 1}`;
      return t.region === undefined ? { token: t.token, role: t.role, subject } : { token: t.token, role: t.role, subject, region: t.region };
    }),
  ];
}

/** Told once per token and process start (the operator login the audit log records). */
export type OnFirstUse = (principal: Principal) => void;

/** What a route requires: anyone, or a bearer token with one of these roles. */
export type Access = 'public' | { roles: readonly Role[] };

declare module 'fastify' {
  interface FastifyContextConfig {
    access?: Access;
  }
  interface FastifyRequest {
    principal: Principal | null;
  }
}

const digest = (value: string): Buffer => createHash('sha256').update(value).digest();

/** A presented token that matched a grant. */
export interface Identified {
  principal: Principal;
  /** The token's SHA-256 in hex: what per-token state (rate limits) is keyed by, never the token itself. */
  tokenKey: string;
}

/** The holder of a request's bearer token, or null when it has none or an unknown one; computed once per request. */
export type Identify = (request: FastifyRequest) => Identified | null;

interface KnownGrant {
  digest: Buffer;
  identified: Identified;
}

/** Compares digests (equal length) with timingSafeEqual and checks every grant, so timing says nothing. */
function matchToken(grants: readonly KnownGrant[], presented: string): Identified | null {
  const presentedDigest = digest(presented);
  let found: Identified | null = null;
  for (const grant of grants) if (timingSafeEqual(grant.digest, presentedDigest)) found = grant.identified;
  return found;
}

function bearer(request: FastifyRequest): string | null {
  const header = request.headers.authorization;
  if (!header) return null;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return match?.[1] ?? null;
}

function tokenIdentifier(grants: readonly TokenGrant[]): Identify {
  const known = grants.map((g): KnownGrant => {
    const tokenDigest = digest(g.token);
    const principal: Principal = g.region === undefined ? { role: g.role, subject: g.subject } : { role: g.role, subject: g.subject, region: g.region };
    return { digest: tokenDigest, identified: { principal, tokenKey: tokenDigest.toString('hex') } };
  });
  // The rate limiter asks before the route's auth check does; one digest per request is enough.
  const seen = new WeakMap<FastifyRequest, Identified | null>();
  return (request) => {
    const cached = seen.get(request);
    if (cached !== undefined) return cached;
    const token = bearer(request);
    const identified = token === null ? null : matchToken(known, token);
    seen.set(request, identified);
    return identified;
  };
}

/**
 * Every route declares `config.access`; routes under /api/ without one make the app fail to start
 * (deny by default). Missing or unknown token: 401; known token, wrong role: 403. Returns the token
 * lookup, for hooks that run before the route's check (rate limits).
 */
export function installAuth(app: FastifyInstance, grants: readonly TokenGrant[], onFirstUse: OnFirstUse = () => undefined): Identify {
  const identify = tokenIdentifier(grants);
  const used = new Set<Principal>();
  app.decorateRequest('principal', null);
  app.addHook('onRoute', (route) => {
    const access = route.config?.access;
    if (!access) {
      if (route.url.startsWith('/api/')) throw new Error(`route ${route.method} ${route.url} declares no access`);
      return;
    }
    if (access === 'public') return;
    const check: onRequestHookHandler = async (request) => {
      if (bearer(request) === null) throw new HttpError('UNAUTHORIZED', 'a bearer token is required');
      const principal = identify(request)?.principal;
      if (!principal) throw new HttpError('UNAUTHORIZED', 'the bearer token is not valid');
      if (!access.roles.includes(principal.role)) throw new HttpError('FORBIDDEN', `this route needs the ${access.roles.join(' or ')} role`);
      request.principal = principal;
      if (!used.has(principal)) {
        used.add(principal);
        onFirstUse(principal);
      }
    };
    const existing = route.onRequest;
    route.onRequest = existing === undefined ? [check] : [check, ...(Array.isArray(existing) ? existing : [existing])];
  });
  return identify;
}

/** The principal of a route that declared a role; the auth hook has run before any handler. */
export function principalOf(request: FastifyRequest): Principal {
  if (!request.principal) throw new HttpError('UNAUTHORIZED', 'a bearer token is required');
  return request.principal;
}

/**
 * A regional operator may act only on its own region; every other role is not bound to one. A
 * cross-region attempt is refused with its own code, so clients can tell it from a missing role.
 */
export function assertRegion(principal: Principal, region: RegionId): void {
  if (principal.region !== undefined && principal.region !== region) {
    throw new HttpError('REGION_FORBIDDEN', `this token may act on region ${principal.region} only`);
  }
}

/** The regions a principal may see: its own for an operator, all configured ones otherwise. */
export function visibleRegions(principal: Principal, regions: readonly RegionId[]): RegionId[] {
  return principal.region === undefined ? [...regions] : regions.filter((r) => r === principal.region);
}
