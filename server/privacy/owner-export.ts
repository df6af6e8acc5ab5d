import { OWNER_EXPORT_FORMAT, type AuditEntry, type OwnerExport } from '../../schema/privacy.ts';
import type { StoredEvent } from '../../schema/api.ts';
import type { AuditRow, EventRow } from '../store/types.ts';
import { findOwner } from './owners.ts';
import type { PrivacyDeps } from './privacy-deps.ts';

export function toStoredEvent(row: EventRow): StoredEvent {
  return {
    id: row.id,
    deviceId: row.deviceId,
    kind: row.kind,
    seq: row.seq,
    ts: row.deviceTs.toISOString(),
    receivedAt: row.receivedAt.toISOString(),
    consentVersion: row.consentVersion,
    body: JSON.parse(row.body) as Record<string, unknown>,
  };
}

export function toAuditEntry(row: AuditRow): AuditEntry {
  return { ...row, at: row.at.toISOString(), detail: JSON.parse(row.detail) as Record<string, unknown> };
}

/**
 * Everything held about an owner, read from their home region only: the owner record, their devices
 * with consent history and events, and the audit entries about them. The export itself is audited
 * first, so the document contains its own entry.
 */
export async function exportOwner(deps: PrivacyDeps, ownerId: string, actor: string): Promise<OwnerExport | null> {
  const found = await findOwner(deps, ownerId);
  if (!found) return null;
  const { row, region, store } = found;
  const devices = await store.devicesOf(row.pseudonym);
  const audit = deps.audit.region(region);
  await audit.append({ actor, action: 'owner.export', target: ownerId, detail: { devices: devices.length } });
  const exported = await Promise.all(devices.map(async (device) => ({
    id: device.id,
    createdAt: device.createdAt.toISOString(),
    consentHistory: (await store.consentHistory(device.id)).map((c) => ({
      version: c.version, issuedAt: c.issuedAt.toISOString(), categories: c.categories, actor: c.actor, channel: c.channel,
    })),
    events: (await store.allEvents(device.id)).map(toStoredEvent),
  })));
  return {
    format: OWNER_EXPORT_FORMAT,
    exportedAt: new Date().toISOString(),
    region,
    owner: { id: row.id, region, pseudonym: row.pseudonym, name: row.name, contact: row.contact, createdAt: row.createdAt.toISOString() },
    devices: exported,
    audit: (await audit.about([ownerId, ...devices.map((d) => d.id)])).map(toAuditEntry),
  };
}
