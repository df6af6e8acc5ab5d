/// <reference lib="dom" />
import type { ConsentRecord } from '../../../../schema/consent.ts';
import type { AuditEntry, Owner, OwnerExport } from '../../../../schema/privacy.ts';
import type { FleetResponse, SessionResponse } from '../../dashboard-api.ts';
import type { Api } from '../api.ts';
import type { TourState } from './tour-state.ts';

/**
 * What the tour does to the running stack. It drives it from the browser through the same HTTP API
 * as every other page, with the signed-in token (the tour's actions need the admin token, or an
 * operator's within its region): nothing here is a side door.
 */

interface QuarantinePage {
  entries: { deviceId: string | null; reason: string }[];
}

/** The story's machine: the one whose messages the quarantines refuse as schema_invalid most often. */
export async function findLeakyMachine(api: Api, session: SessionResponse): Promise<string | null> {
  const counts = new Map<string, number>();
  for (const region of session.regions) {
    const page = await api.get<QuarantinePage>(`/api/v1/regions/${region}/quarantine?limit=200`);
    for (const entry of page.entries) {
      if (entry.reason === 'schema_invalid' && entry.deviceId) counts.set(entry.deviceId, (counts.get(entry.deviceId) ?? 0) + 1);
    }
  }
  return [...counts].sort((a, b) => b[1] - a[1])[0]?.[0] ?? null;
}

/** A machine shown on the map (so its position can visibly leave it), never the leaky one, preferably in the first region. */
export async function findMapMachine(api: Api, session: SessionResponse, avoid: readonly string[]): Promise<string | null> {
  const { devices } = await api.get<FleetResponse>('/api/v1/fleet');
  const shown = devices.filter((d) => d.location !== null && !avoid.includes(d.id));
  return (shown.find((d) => d.region === session.regions[0]) ?? shown[0])?.id ?? null;
}

/** Location consent to none, everything else as it is: a new version, pushed to the machine. */
export async function withdrawLocation(api: Api, deviceId: string): Promise<ConsentRecord> {
  const { devices } = await api.get<FleetResponse>('/api/v1/fleet');
  const current = devices.find((d) => d.id === deviceId)?.consent?.categories ?? { usage: false, location: 'none', payment: false, diagnostics: false };
  return api.put<ConsentRecord>(`/api/v1/devices/${encodeURIComponent(deviceId)}/consent?channel=dashboard`, { ...current, location: 'none' });
}

/** An owner of the first region with a machine that is neither the leaky one nor chapter 3's. */
export async function findOwner(api: Api, session: SessionResponse, avoid: readonly string[]): Promise<TourState['owner'] | null> {
  const region = session.regions[0];
  if (!region) return null;
  const { owners } = await api.get<{ owners: Owner[] }>(`/api/v1/owners?region=${region}&limit=200`);
  const owner = owners.find((o) => o.devices.length > 0 && o.devices.every((d) => !avoid.includes(d))) ?? owners[0];
  return owner ? { id: owner.id, name: owner.name, region: owner.region, devices: owner.devices } : null;
}

/** Downloads the owner's export as a file and tells what it holds. */
export async function exportOwner(api: Api, ownerId: string): Promise<NonNullable<TourState['exported']>> {
  const blob = await api.blob(`/api/v1/owners/${ownerId}/export`);
  const document_ = JSON.parse(await blob.text()) as OwnerExport;
  const url = URL.createObjectURL(blob);
  const link = document.createElement('a');
  link.href = url;
  link.download = `owner-export-${ownerId}.json`;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
  return {
    devices: document_.devices.length,
    events: document_.devices.reduce((n, d) => n + d.events.length, 0),
    quarantine: document_.devices.reduce((n, d) => n + (d.quarantine?.length ?? 0), 0),
    audit: document_.audit.length,
    bytes: blob.size,
  };
}

export const eraseOwner = (api: Api, ownerId: string): Promise<NonNullable<TourState['erased']>> => api.delete(`/api/v1/owners/${ownerId}`);

/** The owner's and their machines' entries in their region's audit log (the newest 200 of them). */
export async function auditAbout(api: Api, owner: NonNullable<TourState['owner']>): Promise<AuditEntry[]> {
  const targets = [owner.id, ...owner.devices].join(',');
  return (await api.get<{ entries: AuditEntry[] }>(`/api/v1/audit?region=${owner.region}&newest=true&limit=200&target=${encodeURIComponent(targets)}`)).entries;
}
