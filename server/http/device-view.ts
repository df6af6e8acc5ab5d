import type { RegionId } from '../../schema/regions.ts';
import type { AuditEvent } from '../privacy/audit-log.ts';
import type { EventQuery, EventRow, DirectoryEntry, RegionStore } from '../store/types.ts';
import type { AppDeps } from './app-deps.ts';
import { assertRegion, visibleRegions, type Principal } from './auth.ts';
import { fromStore, HttpError } from './errors.ts';

export type DeviceViewDeps = Pick<AppDeps, 'config' | 'stores' | 'directory' | 'privacy'>;

/**
 * How the HTTP routes see devices, in one place: which devices a principal may see, one device or
 * 404, and the audited read of a device's events. The directory keeps an erased device's routing
 * entry (so its late events are refused in its region); to the API such a device no longer exists.
 */
export interface DeviceView {
  /** The region's store, or UNKNOWN_REGION when this server has none for it. */
  store(region: RegionId): RegionStore;
  /** Every device in the principal's regions, in provisioning order, erased ones left out. */
  visible(principal: Principal): Promise<DirectoryEntry[]>;
  /** The device; 404 when unknown or erased, 403 REGION_FORBIDDEN for another region's operator. */
  device(principal: Principal, id: string): Promise<DirectoryEntry>;
  /** The device's events, newest first, from its home-region store; the read is an entry in that region's audit log. */
  readEvents(principal: Principal, entry: DirectoryEntry, query: EventQuery, detail?: AuditEvent['detail']): Promise<EventRow[]>;
}

export function createDeviceView(deps: DeviceViewDeps): DeviceView {
  const erased = (entry: DirectoryEntry): Promise<boolean> => deps.privacy.tombstones.has(entry.region, entry.deviceId);

  const store = (region: RegionId): RegionStore => {
    const found = deps.stores.regions.get(region);
    if (!found) throw new HttpError('UNKNOWN_REGION', `region ${region} is not configured here`);
    return found;
  };

  return {
    store,

    async visible(principal) {
      const regions = new Set(visibleRegions(principal, deps.config.regions));
      // The whole directory, read from its store: a listing is not what the lookup cache is for.
      const listed = (await fromStore(deps.stores.directory.list())).filter((e) => regions.has(e.region));
      const gone = await fromStore(Promise.all(listed.map(erased)));
      return listed.filter((_e, i) => !gone[i]);
    },

    async device(principal, id) {
      const entry = await fromStore(deps.directory.lookup(id));
      if (!entry) throw new HttpError('NOT_FOUND', `no device ${id}`);
      assertRegion(principal, entry.region);
      if (await fromStore(erased(entry))) throw new HttpError('NOT_FOUND', `device ${id} was erased`);
      return entry;
    },

    async readEvents(principal, entry, query, detail = {}) {
      const rows = await fromStore(store(entry.region).listEvents(entry.deviceId, query));
      await fromStore(
        deps.privacy.audit.region(entry.region).append({
          actor: principal.subject,
          action: 'device.read_events',
          target: entry.deviceId,
          detail: { events: rows.length, ...detail },
        }),
      );
      return rows;
    },
  };
}
