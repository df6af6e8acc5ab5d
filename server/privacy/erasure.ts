import type { RegionId } from '../../schema/regions.ts';
import type { ErasureCause, ErasureCounts, RegionStore } from '../store/types.ts';
import { findOwner } from './owners.ts';
import type { PrivacyDeps } from './privacy-deps.ts';

/** One erasure: what it covers and, as the steps run, what they did. */
interface Erasure {
  region: RegionId;
  store: RegionStore;
  deviceIds: string[];
  ownerId?: string;
  ownerPseudonym: string | null;
  cause: ErasureCause;
  actor: string;
  counts?: ErasureCounts;
  /** Whether the store's side files were flushed of what the deletions overwrote (flush-deleted). */
  flushed?: boolean;
}

interface ErasureStep {
  name: string;
  run(deps: PrivacyDeps, erasure: Erasure): Promise<void>;
}

const NOTHING: ErasureCounts = { owners: 0, devices: 0, events: 0, consentRecords: 0, refusals: 0 };

/**
 * In this order, so that nothing of the owner can be stored again once the rows are gone: refuse the
 * devices at ingest first (tombstones in memory) and at the broker (credentials revoked), destroy
 * the owner's key (from here on their name and contact are unreadable wherever a copy of the sealed
 * bytes lies), then delete, then flush the store's side files (the SQLite WAL). A batch already past
 * ingest's tombstone check cannot commit an event afterwards: the event writers check the tombstone
 * inside their own transaction (server/store/event-writer.ts).
 */
const ERASURE_STEPS: readonly ErasureStep[] = [
  {
    name: 'refuse-at-ingest',
    run: (deps, e) => deps.tombstones.add(e.region, e.deviceIds),
  },
  {
    // Before the credentials go, while a connected device can still hear it.
    name: 'ask-devices-to-wipe',
    async run(deps, e) {
      for (const id of e.deviceIds) deps.wipeLocalData?.(id);
    },
  },
  {
    // Every cache of the credentials goes at once: the directory entry in this process (other server
    // processes drop theirs on their next peer refresh, and never check a login from their cache), and
    // every broker node's verification cache and live session, through the revocation notice.
    name: 'revoke-credentials',
    async run(deps, e) {
      for (const id of e.deviceIds) {
        await deps.stores.directory.revoke(id);
        deps.directory.forget(id);
      }
      await Promise.all(e.deviceIds.map((id) => deps.revokeAtBroker?.(id)));
    },
  },
  {
    // Before the rows go: should the deletion fail, the owner is already unreadable, and a retry
    // finds the row and deletes it.
    name: 'destroy-owner-key',
    async run(deps, e) {
      if (e.ownerId !== undefined) deps.ownerKeys.vault(e.region).destroy(e.ownerId);
    },
  },
  {
    name: 'delete-region-rows',
    async run(_deps, e) {
      e.counts = await e.store.erase({
        deviceIds: e.deviceIds,
        ownerPseudonym: e.ownerPseudonym,
        erasedAt: new Date(),
        cause: e.cause,
        ...(e.ownerId === undefined ? {} : { ownerId: e.ownerId }),
      });
    },
  },
  {
    // secure_delete zeroed the deleted rows in the database file; the WAL still holds the pages as
    // they were until a checkpoint truncates it.
    name: 'flush-deleted',
    async run(_deps, e) {
      e.flushed = (await e.store.flushDeleted()).done;
    },
  },
  {
    name: 'forget-consent',
    async run(deps, e) {
      for (const id of e.deviceIds) {
        deps.consent.forget(id);
        deps.clearRetainedMessages?.(id);
      }
    },
  },
  {
    // After the rows: the entry only routes, and a device refused everywhere needs no route. Never
    // fails the erasure (what the directory keeps is not personal); a failure is counted and logged.
    name: 'forget-at-global-directory',
    async run(deps, e) {
      await deps.forgetAtGlobalDirectory?.(e.deviceIds);
    },
  },
  {
    name: 'audit',
    async run(deps, e) {
      await deps.audit.region(e.region).append({
        actor: e.actor,
        action: e.cause === 'owner_erasure' ? 'owner.erase' : 'device.delete',
        target: e.ownerId ?? e.deviceIds[0] ?? '',
        detail: { devices: e.deviceIds.length, ...(e.counts ?? {}), flushed: e.flushed ?? false },
      });
    },
  },
];

export interface ErasureResult {
  region: RegionId;
  tombstoned: string[];
  erased: ErasureCounts;
}

async function run(deps: PrivacyDeps, erasure: Erasure): Promise<ErasureResult> {
  for (const step of ERASURE_STEPS) await step.run(deps, erasure);
  const erased = erasure.counts ?? NOTHING;
  return { region: erasure.region, tombstoned: erasure.deviceIds, erased };
}

/** Erases an owner and everything of their devices in their home region; null when there is no such owner. */
export async function eraseOwner(deps: PrivacyDeps, ownerId: string, actor: string): Promise<ErasureResult | null> {
  const found = await findOwner(deps, ownerId);
  if (!found) return null;
  const devices = await found.store.devicesOf(found.row.pseudonym);
  return run(deps, {
    region: found.region,
    store: found.store,
    deviceIds: devices.map((d) => d.id),
    ownerId,
    ownerPseudonym: found.row.pseudonym,
    cause: 'owner_erasure',
    actor,
  });
}

/** Deleting a device erases its data too (events, consent ledger, quarantine) and tombstones it. */
export async function eraseDevice(deps: PrivacyDeps, deviceId: string, region: RegionId, actor: string): Promise<ErasureResult> {
  const store = deps.stores.regions.get(region);
  if (!store) throw new Error(`no store for region ${region}`);
  const device = await store.getDevice(deviceId);
  return run(deps, { region, store, deviceIds: [deviceId], ownerPseudonym: device?.ownerPseudonym ?? null, cause: 'device_deletion', actor });
}
