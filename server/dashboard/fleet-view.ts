import type { ConsentRecord } from '../../schema/consent.ts';
import { locationBodySchema, statusBodySchema } from '../../schema/events.ts';
import { limitLocation } from '../../schema/location.ts';
import type { DeviceState } from '../../schema/topics.ts';
import type { DirectoryEntry, EventRow } from '../store/types.ts';
import type { FleetDevice } from './dashboard-api.ts';

export interface FleetParts {
  entry: DirectoryEntry;
  consent: ConsentRecord | null;
  state: DeviceState | null;
  lastLocation: EventRow | null;
  lastStatus: EventRow | null;
}

/**
 * One machine as the dashboard shows it. The stored fix was kept at the precision consented when it
 * was sent; the current consent may be stricter now (withdrawn or coarsened), and then that wins.
 */
export function fleetDevice(parts: FleetParts): FleetDevice {
  const allowed = parts.consent?.categories.location ?? 'none';
  const stored = parts.lastLocation ? locationBodySchema.safeParse(JSON.parse(parts.lastLocation.body)) : null;
  const shown = stored?.success ? limitLocation(stored.data, allowed) : null;
  const status = parts.lastStatus ? statusBodySchema.safeParse(JSON.parse(parts.lastStatus.body)) : null;
  return {
    id: parts.entry.deviceId,
    region: parts.entry.region,
    state: parts.state,
    consent: parts.consent,
    location: shown && parts.lastLocation ? { ...shown, at: parts.lastLocation.deviceTs.toISOString() } : null,
    consumables:
      status?.success && parts.lastStatus && parts.consent?.categories.diagnostics ? { ...status.data, at: parts.lastStatus.deviceTs.toISOString() } : null,
  };
}
