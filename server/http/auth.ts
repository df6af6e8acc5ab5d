import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyRequest, onRequestHookHandler } from 'fastify';
import { HttpError } from './errors.ts';

export const ROLES = ['admin', 'broker'] as const;
export type Role = (typeof ROLES)[number];

/** A bearer token, who holds it and what it may do. */
export interface TokenGrant {
  token: string;
  role: Role;
  /** Recorded as the actor of changes made with this token (consent ledger, later the audit log). */
  subject: string;
}

export interface Principal {
  role: Role;
  subject: string;
}

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

/** Compares digests (equal length) with timingSafeEqual and checks every grant, so timing says nothing. */
function matchToken(grants: readonly { digest: Buffer; principal: Principal }[], presented: string): Principal | null {
  const presentedDigest = digest(presented);
  let found: Principal | null = null;
  for (const grant of grants) if (timingSafeEqual(grant.digest, presentedDigest)) found = grant.principal;
  return found;
}

function bearer(request: FastifyRequest): string | null {
  const header = request.headers.authorization;
  if (!header) return null;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return match?.[1] ?? null;
}

/**
 * Every route declares `config.access`; routes under /api/ without one make the app fail to start
 * (deny by default). Missing or unknown token: 401; known token, wrong role: 403.
 */
export function installAuth(app: FastifyInstance, grants: readonly TokenGrant[]): void {
  const known = grants.map((g) => ({ digest: digest(g.token), principal: { role: g.role, subject: g.subject } }));
  app.decorateRequest('principal', null);
  app.addHook('onRoute', (route) => {
    const access = route.config?.access;
    if (!access) {
      if (route.url.startsWith('/api/')) throw new Error(`route ${route.method} ${route.url} declares no access`);
      return;
    }
    if (access === 'public') return;
    const check: onRequestHookHandler = async (request) => {
      const token = bearer(request);
      if (!token) throw new HttpError('UNAUTHORIZED', 'a bearer token is required');
      const principal = matchToken(known, token);
      if (!principal) throw new HttpError('UNAUTHORIZED', 'the bearer token is not valid');
      if (!access.roles.includes(principal.role)) throw new HttpError('FORBIDDEN', `this route needs the ${access.roles.join(' or ')} role`);
      request.principal = principal;
    };
    const existing = route.onRequest;
    route.onRequest = existing === undefined ? [check] : [check, ...(Array.isArray(existing) ? existing : [existing])];
  });
}

/** The principal of a route that declared a role; the auth hook has run before any handler. */
export function principalOf(request: FastifyRequest): Principal {
  if (!request.principal) throw new HttpError('UNAUTHORIZED', 'a bearer token is required');
  return request.principal;
}
