import type { CreateOwnerRequest, Owner } from '../../schema/privacy.ts';
import type { RegionId } from '../../schema/regions.ts';
import type { OwnerRow, RegionStore } from '../store/types.ts';
import { isSealed, seal, SEALED_PREFIX, unseal } from './owner-seal.ts';
import type { PrivacyDeps } from './privacy-deps.ts';
import { mintOwnerId, pseudonymOf, regionOfOwner } from './pseudonym.ts';

function regionStore(deps: PrivacyDeps, region: RegionId): RegionStore | undefined {
  return deps.stores.regions.get(region);
}

/** An owner row with its name and contact opened. */
export interface OpenedOwner {
  row: OwnerRow;
  name: string;
  contact: string;
}

/**
 * Opens the sealed fields with the owner's key; null once the key is gone (the owner is erased, even
 * if a failed erasure left the row). A row from before sealing is returned as it is until sealed.
 */
export function openOwner(deps: Pick<PrivacyDeps, 'ownerKeys'>, region: RegionId, row: OwnerRow): OpenedOwner | null {
  if (!isSealed(row.name) && !isSealed(row.contact)) return { row, name: row.name, contact: row.contact };
  const key = deps.ownerKeys.vault(region).get(row.id);
  if (key === null) return null;
  return { row, name: unseal(key, row.id, 'name', row.name), contact: unseal(key, row.id, 'contact', row.contact) };
}

function toOwner(owner: OpenedOwner, region: RegionId, devices: readonly string[]): Owner {
  const { row } = owner;
  return {
    id: row.id,
    region,
    pseudonym: row.pseudonym,
    name: owner.name,
    contact: owner.contact,
    createdAt: row.createdAt.toISOString(),
    devices: [...devices],
  };
}

/** A new owner's row with the name and contact sealed under the owner's own key. */
function sealedOwnerRow(deps: PrivacyDeps, request: CreateOwnerRequest, id: string, key: Buffer, createdAt: Date): OwnerRow {
  const secret = deps.pseudonymSecrets.get(request.region);
  if (secret === undefined) throw new Error(`region ${request.region} is not configured`);
  return { id, pseudonym: pseudonymOf(secret, id), name: seal(key, id, 'name', request.name), contact: seal(key, id, 'contact', request.contact), createdAt };
}

/**
 * Creates an owner in their home region. The name and contact are sealed under a new key of the
 * owner's own before they reach the store; the key stays in the region's vault.
 */
export async function createOwner(deps: PrivacyDeps, request: CreateOwnerRequest, actor: string): Promise<Owner> {
  const store = regionStore(deps, request.region);
  if (!store) throw new Error(`region ${request.region} is not configured`);
  const id = mintOwnerId(request.region);
  const row = sealedOwnerRow(deps, request, id, deps.ownerKeys.vault(request.region).create(id), new Date());
  try {
    await store.createOwner(row);
  } catch (err) {
    deps.ownerKeys.vault(request.region).destroy(row.id);
    throw err;
  }
  await deps.audit.region(request.region).append({ actor, action: 'owner.create', target: row.id });
  return toOwner({ row, name: request.name, contact: request.contact }, request.region, []);
}

/** One owner of a batch: as for createOwner, plus the devices of the same region that are theirs from the start. */
export interface OwnerBatchEntry extends CreateOwnerRequest {
  deviceIds: readonly string[];
}

/** Why a batch was refused before anything was written: the first entry (by index) at fault and its device. */
export type OwnerBatchRefusal = { reason: 'no_device' | 'other_region' | 'repeated_device'; index: number; deviceId: string };

/**
 * Creates many owners, each with devices attached, with one transaction per region store. Every
 * device is checked first (known, in its owner's region, listed once), so a batch refused for one
 * writes nothing anywhere. Audited as the single calls are: `owner.create` and `owner.attach_device`
 * per owner and device. A store failing part-way, or a device deleted between the check and its
 * region's write, leaves the regions already written committed (their owners are complete) and
 * destroys the keys of the owners not written. Answers in request order.
 */
export async function createOwners(
  deps: PrivacyDeps,
  requests: readonly OwnerBatchEntry[],
  actor: string,
): Promise<{ owners: Owner[] } | { refused: OwnerBatchRefusal }> {
  const seen = new Set<string>();
  for (const [index, request] of requests.entries()) {
    for (const deviceId of request.deviceIds) {
      if (seen.has(deviceId)) return { refused: { reason: 'repeated_device', index, deviceId } };
      seen.add(deviceId);
      const entry = await deps.directory.lookup(deviceId);
      if (!entry) return { refused: { reason: 'no_device', index, deviceId } };
      if (entry.region !== request.region) return { refused: { reason: 'other_region', index, deviceId } };
    }
  }
  const createdAt = new Date();
  const byRegion = new Map<RegionId, number[]>();
  for (const [index, request] of requests.entries()) {
    const group = byRegion.get(request.region);
    if (group) group.push(index);
    else byRegion.set(request.region, [index]);
  }
  const rows: OwnerRow[] = [];
  const unwritten = new Map<RegionId, string[]>();
  try {
    for (const [region, indexes] of byRegion) {
      if (!regionStore(deps, region)) throw new Error(`region ${region} is not configured`);
      const ids = indexes.map(() => mintOwnerId(region));
      unwritten.set(region, ids);
      const keys = deps.ownerKeys.vault(region).createMany(ids);
      indexes.forEach((i, n) => {
        rows[i] = sealedOwnerRow(deps, requests[i]!, ids[n]!, keys[n]!, createdAt);
      });
    }
    for (const [region, indexes] of byRegion) {
      const missing = await regionStore(deps, region)!.createOwnersWithDevices(
        indexes.map((i) => ({ row: rows[i]!, deviceIds: requests[i]!.deviceIds })),
        createdAt,
      );
      // The directory named them, the region's store does not hold them (a deletion under way).
      const gone = missing[0];
      if (gone !== undefined) return { refused: { reason: 'no_device', index: requests.findIndex((r) => r.deviceIds.includes(gone)), deviceId: gone } };
      unwritten.delete(region);
      await deps.audit
        .region(region)
        .appendMany(
          indexes.flatMap((i) => [
            { actor, action: 'owner.create', target: rows[i]!.id },
            ...requests[i]!.deviceIds.map((deviceId) => ({ actor, action: 'owner.attach_device', target: rows[i]!.id, detail: { deviceId } })),
          ]),
        );
    }
  } finally {
    for (const [region, ids] of unwritten) deps.ownerKeys.vault(region).destroyMany(ids);
  }
  return { owners: requests.map((request, i) => toOwner({ row: rows[i]!, name: request.name, contact: request.contact }, request.region, request.deviceIds)) };
}

/** The owner's row (sealed) and store, or null when the id names no owner of a configured region. */
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
  const opened = found && openOwner(deps, found.region, found.row);
  if (!found || !opened) return null;
  const devices = await found.store.devicesOf(found.row.pseudonym);
  await deps.audit.region(found.region).append({ actor, action: 'owner.read', target: ownerId });
  return toOwner(
    opened,
    found.region,
    devices.map((d) => d.id),
  );
}

/**
 * One page of a region's owners, opened, with their devices: a bulk read of personal data, audited
 * in the region once per page. Owners whose key is gone (an erasure that did not finish) are left out.
 */
export async function listOwners(
  deps: PrivacyDeps,
  region: RegionId,
  page: { limit: number; afterId?: string },
  actor: string,
): Promise<{ owners: Owner[]; next: string | null }> {
  const store = regionStore(deps, region);
  if (!store) throw new Error(`region ${region} is not configured`);
  const rows = await store.listOwners(page);
  const owners: Owner[] = [];
  for (const row of rows) {
    const opened = openOwner(deps, region, row);
    if (opened)
      owners.push(
        toOwner(
          opened,
          region,
          (await store.devicesOf(row.pseudonym)).map((d) => d.id),
        ),
      );
  }
  await deps.audit.region(region).append({ actor, action: 'owners.list', target: region, detail: { owners: owners.length } });
  const last = rows.at(-1);
  return { owners, next: rows.length === page.limit && last ? last.id : null };
}

export type AttachOutcome = 'attached' | 'no_owner' | 'no_device' | 'other_region';

/**
 * Makes a device its owner's from now on; both must live in the same region (the owner's data never
 * leaves it). A device that had another owner starts a new ownership period: from here on its events
 * are the new owner's, the ones before stay the previous owner's.
 */
export async function attachDevice(deps: PrivacyDeps, ownerId: string, deviceId: string, actor: string): Promise<AttachOutcome> {
  const found = await findOwner(deps, ownerId);
  if (!found) return 'no_owner';
  const entry = await deps.directory.lookup(deviceId);
  if (!entry) return 'no_device';
  if (entry.region !== found.region) return 'other_region';
  if (!(await found.store.attachDevice(deviceId, found.row.pseudonym, new Date()))) return 'no_device';
  await deps.audit.region(found.region).append({ actor, action: 'owner.attach_device', target: ownerId, detail: { deviceId } });
  return 'attached';
}

/**
 * Seals the owner rows of a store written before sealing existed, each under a new key of its own,
 * then flushes what the updates overwrote (the plain text of SQLite's old rows; see docs/security.md
 * for PostgreSQL). Returns how many rows were sealed.
 */
export async function sealLegacyOwners(deps: Pick<PrivacyDeps, 'ownerKeys' | 'stores'>): Promise<number> {
  let sealed = 0;
  for (const [region, store] of deps.stores.regions) {
    const rows = await store.ownersNotSealed(SEALED_PREFIX);
    for (const row of rows) {
      const vault = deps.ownerKeys.vault(region);
      const key = vault.get(row.id) ?? vault.create(row.id);
      await store.updateOwnerFields(row.id, { name: seal(key, row.id, 'name', row.name), contact: seal(key, row.id, 'contact', row.contact) });
      sealed++;
    }
    if (rows.length > 0) await store.flushDeleted();
  }
  return sealed;
}
