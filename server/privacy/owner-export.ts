import { OWNER_EXPORT_FORMAT, type AuditEntry } from '../../schema/privacy.ts';
import type { StoredEvent } from '../../schema/api.ts';
import type { RegionId } from '../../schema/regions.ts';
import type { AuditRow, ConsentRow, EventCursor, EventRow, OwnershipPeriodRow, QuarantineEntry, RegionStore } from '../store/types.ts';
import { findOwner, openOwner, type OpenedOwner } from './owners.ts';
import type { PrivacyDeps } from './privacy-deps.ts';

/** Rows read per query: the export's memory is a few pages, whatever the owner's history holds. */
const PAGE = 500;

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

const json = JSON.stringify;
const within = (at: Date, p: OwnershipPeriodRow): boolean => at >= p.startedAt && (p.endedAt === null || at < p.endedAt);

/** The ledger versions in force during any of the periods: those issued within one, and the one in force at its start. */
function consentDuring(history: readonly ConsentRow[], periods: readonly OwnershipPeriodRow[]): ConsentRow[] {
  return history.filter((record, i) =>
    periods.some((p) => {
      const next = history[i + 1];
      return within(record.issuedAt, p) || (record.issuedAt < p.startedAt && (next === undefined || next.issuedAt > p.startedAt));
    }),
  );
}

/** Comma-joined JSON of each page, the separator carried across pages. */
async function* listItems<T>(pages: AsyncIterable<readonly T[]>, render: (item: T) => unknown): AsyncGenerator<string> {
  let separator = '';
  for await (const page of pages) {
    if (page.length === 0) continue;
    yield separator + page.map((item) => json(render(item))).join(',');
    separator = ',';
  }
}

async function* eventPages(store: RegionStore, periods: readonly OwnershipPeriodRow[]): AsyncGenerator<EventRow[]> {
  for (const period of periods) {
    for (let after: EventCursor | null = null; ; ) {
      const rows = await store.eventsInPeriod(period, after, PAGE);
      yield rows;
      const last = rows.at(-1);
      if (rows.length < PAGE || !last) break;
      after = { deviceTs: last.deviceTs, id: last.id };
    }
  }
}

async function* refusalPages(store: RegionStore, periods: readonly OwnershipPeriodRow[]): AsyncGenerator<QuarantineEntry[]> {
  for (const period of periods) {
    for (let afterId = 0; ; ) {
      const rows = await store.refusalsInPeriod(period, afterId, PAGE);
      yield rows;
      const last = rows.at(-1);
      if (rows.length < PAGE || !last) break;
      afterId = last.id;
    }
  }
}

interface ExportSource {
  deps: PrivacyDeps;
  region: RegionId;
  store: RegionStore;
  owner: OpenedOwner;
  /** The owner's periods, by device. */
  periods: Map<string, OwnershipPeriodRow[]>;
}

async function deviceHead(source: ExportSource, deviceId: string, periods: readonly OwnershipPeriodRow[]): Promise<string> {
  const { store, deps } = source;
  // A device a later owner erased has no row left here; the directory still knows when it was made.
  const createdAt = (await store.getDevice(deviceId))?.createdAt ?? (await deps.directory.lookup(deviceId))?.createdAt ?? new Date(0);
  const consentHistory = consentDuring(await store.consentHistory(deviceId), periods).map((c) => ({
    version: c.version,
    issuedAt: c.issuedAt.toISOString(),
    categories: c.categories,
    actor: c.actor,
    channel: c.channel,
  }));
  const ownership = periods.map((p) => ({ from: p.startedAt.toISOString(), to: p.endedAt?.toISOString() ?? null }));
  return `{"id":${json(deviceId)},"createdAt":${json(createdAt.toISOString())},"ownership":${json(ownership)},"consentHistory":${json(consentHistory)},"events":[`;
}

/** The document, piece by piece as it is read: brewtel.owner-export.v1. */
async function* exportDocument(source: ExportSource): AsyncGenerator<string> {
  const { deps, region, store, owner, periods } = source;
  const { row } = owner;
  const ownerJson = { id: row.id, region, pseudonym: row.pseudonym, name: owner.name, contact: owner.contact, createdAt: row.createdAt.toISOString() };
  yield `{"format":${json(OWNER_EXPORT_FORMAT)},"exportedAt":${json(new Date().toISOString())},"region":${json(region)},"owner":${json(ownerJson)},"devices":[`;
  let separator = '';
  for (const [deviceId, devicePeriods] of periods) {
    yield separator + (await deviceHead(source, deviceId, devicePeriods));
    yield* listItems(eventPages(store, devicePeriods), toStoredEvent);
    yield '],"quarantine":[';
    yield* listItems(refusalPages(store, devicePeriods), (r) => ({
      receivedAt: r.receivedAt.toISOString(),
      reason: r.reason,
      eventId: r.eventId,
      kind: r.kind,
      payloadBase64: r.payload === null ? null : r.payload.toString('base64'),
      explanation: r.explanation,
    }));
    yield ']}';
    separator = ',';
  }
  yield '],"audit":[';
  // About the owner: all of it; about a device: only while it was theirs.
  const aboutOwner = (entry: AuditRow): boolean => {
    if (entry.target === row.id) return true;
    return (periods.get(entry.target) ?? []).some((p) => within(entry.at, p));
  };
  const pages = deps.audit.region(region).pagesAbout([row.id, ...periods.keys()], PAGE);
  yield* listItems(
    (async function* () {
      for await (const page of pages) yield page.filter(aboutOwner);
    })(),
    toAuditEntry,
  );
  yield ']}';
}

/**
 * Everything held about an owner, read from their home region only: the owner record, every device
 * they have or had with what fell in their ownership of it (consent history, events, quarantined
 * messages), and the audit entries about them. The export itself is audited first, so the document
 * contains its own entry. Null when there is no such owner (or their key is gone); otherwise the
 * document as an iterable of JSON text, read from the store page by page as it is consumed.
 */
export async function exportOwner(deps: PrivacyDeps, ownerId: string, actor: string): Promise<AsyncIterable<string> | null> {
  const found = await findOwner(deps, ownerId);
  const owner = found && openOwner(deps, found.region, found.row);
  if (!found || !owner) return null;
  const { region, store } = found;
  const periods = new Map<string, OwnershipPeriodRow[]>();
  for (const period of await store.periodsOf(found.row.pseudonym)) periods.set(period.deviceId, [...(periods.get(period.deviceId) ?? []), period]);
  await deps.audit.region(region).append({ actor, action: 'owner.export', target: ownerId, detail: { devices: periods.size } });
  return exportDocument({ deps, region, store, owner, periods });
}
