import type { RegionId } from '../../schema/regions.ts';
import type { StreamFilter, StreamRefused, StreamStored } from './dashboard-api.ts';
import type { FeedNotice } from './live-feed.ts';

/** Whether a committed row goes to one stream: within the principal's regions and the user's filter. */
export function passes(notice: FeedNotice, filter: StreamFilter, visible: ReadonlySet<RegionId>): boolean {
  if (!visible.has(notice.region)) return false;
  if (filter.region && notice.region !== filter.region) return false;
  if (filter.kind && notice.row.kind !== filter.kind) return false;
  if (filter.device && notice.row.deviceId !== filter.device) return false;
  return true;
}

/** The wire form; a body only for a role allowed to read bodies, never a refused payload. */
export function toStreamMessage(notice: FeedNotice, withBody: boolean): StreamStored | StreamRefused {
  if (notice.type === 'refused') {
    const { row } = notice;
    return {
      type: 'refused',
      region: notice.region,
      reason: row.reason,
      deviceId: row.deviceId,
      kind: row.kind,
      at: row.receivedAt.toISOString(),
      ...(row.explanation ? { findings: row.explanation.findings } : {}),
    };
  }
  const { row } = notice;
  return {
    type: 'stored',
    region: notice.region,
    id: row.id,
    deviceId: row.deviceId,
    kind: row.kind,
    ts: row.deviceTs.toISOString(),
    receivedAt: row.receivedAt.toISOString(),
    ...(withBody ? { body: JSON.parse(row.body) as Record<string, unknown> } : {}),
  };
}
