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

/**
 * Who may use the owner, audit and quarantine routes: the routes declare these, and the dashboard's
 * session tells the page from the same lists, so it offers only what the API will do.
 */
export const OWNER_ROLES = ['admin', 'operator'] as const satisfies readonly Role[];
export const AUDIT_ROLES = ['admin', 'auditor'] as const satisfies readonly Role[];
export const QUARANTINE_ROLES = ['admin', 'operator'] as const satisfies readonly Role[];

const allows =
  (roles: readonly Role[]) =>
  (principal: Principal): boolean =>
    roles.includes(principal.role);
export const mayManageOwners = allows(OWNER_ROLES);
export const mayReadAudit = allows(AUDIT_ROLES);
export const mayReadQuarantine = allows(QUARANTINE_ROLES);
