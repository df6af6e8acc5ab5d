import type { Role } from '../config.ts';
import type { Principal } from '../http/auth.ts';

/** Roles that may open the dashboard's data routes; what each sees is narrowed per request. */
export const DASHBOARD_ROLES = ['admin', 'operator', 'auditor'] as const satisfies readonly Role[];

/**
 * Bodies (what was brewed, where, paid how) go to the roles that run the fleet; an auditor checks
 * that the rules hold and sees envelopes, counts and refusals, not the data itself.
 */
const BODY_ROLES: ReadonlySet<Role> = new Set<Role>(['admin', 'operator']);

export const mayReadBodies = (principal: Principal): boolean => BODY_ROLES.has(principal.role);

/** Mirrors the access of PUT /api/v1/devices/:id/consent, so the page offers toggles only where they work. */
export const mayChangeConsent = (principal: Principal): boolean => principal.role === 'admin' || principal.role === 'operator';
