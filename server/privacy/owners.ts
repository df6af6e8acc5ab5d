import type { CreateOwnerRequest, Owner } from '../../schema/privacy.ts';
import type { RegionId } from '../../schema/regions.ts';
import type { OwnerRow, RegionStore } from '../store/types.ts';
import type { PrivacyDeps } from './privacy-deps.ts';
import { mintOwnerId, pseudonymOf, regionOfOwner } from './pseudonym.ts';

function regionStore(deps: PrivacyDeps, region: RegionId): RegionStore | undefined {
  return deps.stores.regions.get(region);
}

function toOwner(row: OwnerRow, region: RegionId, devices: readonly string[]): Owner {
  return { id: row.id, region, pseudonym: row.pseudonym, name: row.name, contact: row.contact, createdAt: row.createdAt.toISOString(), devices: [...devices] };
}

/** Creates an owner in their home region; the name and contact are stored there and nowhere else. */
export async function createOwner(deps: PrivacyDeps, request: CreateOwnerRequest, actor: string): Promise<Owner> {
  const store = regionStore(deps, request.region);
  const secret = deps.pseudonymSecrets.get(request.region);
  if (!store || secret === undefined) throw new Error(`region ${request.region} is not configured`);
  const id = mintOwnerId(request.region);
  const row: OwnerRow = { id, pseudonym: pseudonymOf(secret, id), name: request.name, contact: request.contact, createdAt: new Date() };
  await store.createOwner(row);
  await deps.audit.region(request.region).append({ actor, action: 'owner.create', target: id });
  return toOwner(row, request.region, []);
}

/** The owner's row and store, or null when the id names no owner of a configured region. */
export async function findOwner(deps: PrivacyDeps, ownerId: string): Promise<{ row: OwnerRow; region: RegionId; store: RegionStore } | null> {
  const region = regionOfOwner(ownerId);
  const store = regionStore(deps, region);
  if (!store) return null;
  const row = await store.getOwner(ownerId);
  return row ? { row, region, store } : null;
}

/** A read of personal data: audited in the owner's region. */
export async function readOwner(deps: PrivacyDeps, ownerId: string, actor: string): Promise<Owner | null> {
  const found = await findOwner(deps, ownerId);
  if (!found) return null;
  const devices = await found.store.devicesOf(found.row.pseudonym);
  await deps.audit.region(found.region).append({ actor, action: 'owner.read', target: ownerId });
  return toOwner(found.row, found.region, devices.map((d) => d.id));
}

export type AttachOutcome = 'attached' | 'no_owner' | 'no_device' | 'other_region';

/** Links a device to its owner; both must live in the same region (the owner's data never leaves it). */
export async function attachDevice(deps: PrivacyDeps, ownerId: string, deviceId: string, actor: string): Promise<AttachOutcome> {
  const found = await findOwner(deps, ownerId);
  if (!found) return 'no_owner';
  const entry = await deps.directory.lookup(deviceId);
  if (!entry) return 'no_device';
  if (entry.region !== found.region) return 'other_region';
  if (!(await found.store.attachDevice(deviceId, found.row.pseudonym))) return 'no_device';
  await deps.audit.region(found.region).append({ actor, action: 'owner.attach_device', target: ownerId, detail: { deviceId } });
  return 'attached';
}
