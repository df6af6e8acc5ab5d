import Database from 'better-sqlite3';
import { join } from 'node:path';
import type { FleetStats } from '../../firmware-sim/fleet.ts';

/**
 * The books of one scenario. Devices say what they published (acknowledged), what they still hold
 * and what they dropped; the stores on disk say what was stored and refused. Nothing may be lost,
 * nothing stored twice.
 */
export interface ScenarioBooks {
  scenario: string;
  /** Replays this run: `npm run chaos -- --only NAME --seed …` (see run.ts). */
  seed: number;
  published: number;
  stored: number;
  refused: number;
  /** Still on the devices (offline buffers and unacknowledged) when the books were closed: must be 0. */
  buffered: number;
  /** Dropped by a full offline buffer; none of the scenarios is sized to drop. */
  dropped: number;
  /** published - stored - refused - buffered, when positive. */
  lost: number;
  /** Stored or refused without the device having seen its acknowledgement. */
  unaccounted: number;
  /** Rows beyond one per event id, or one per (device, sequence number). */
  duplicated: number;
  seconds: number;
  note: string;
}

export interface DiskCounts {
  events: number;
  distinctIds: number;
  distinctDeviceSeqs: number;
  refusals: number;
}

/**
 * Straight from the SQLite files, bypassing the server: the rows of these devices only. Each scenario
 * run provisions its own machines, so a late delivery from an earlier run on the same rig (the
 * stores, the broker's Redis state and the server's ingest session carry over) cannot pad its books.
 */
export function readDisk(dataDir: string, regions: readonly string[], deviceIds: readonly string[]): DiskCounts {
  const ids = new Set<string>();
  const deviceSeqs = new Set<string>();
  const devices = JSON.stringify(deviceIds);
  let events = 0;
  let refusals = 0;
  for (const region of regions) {
    const db = new Database(join(dataDir, `${region}.db`), { readonly: true, fileMustExist: true });
    try {
      const rows = db.prepare('SELECT id, deviceId, seq FROM Event WHERE deviceId IN (SELECT value FROM json_each(?))').iterate(devices) as Iterable<{
        id: string;
        deviceId: string;
        seq: number;
      }>;
      for (const row of rows) {
        events++;
        ids.add(row.id);
        deviceSeqs.add(`${row.deviceId}#${row.seq}`);
      }
      refusals += (db.prepare('SELECT COUNT(*) AS n FROM Refusal WHERE deviceId IN (SELECT value FROM json_each(?))').get(devices) as { n: number }).n;
    } finally {
      db.close();
    }
  }
  return { events, distinctIds: ids.size, distinctDeviceSeqs: deviceSeqs.size, refusals };
}

/** Pure: the books from the devices' final counters and what is on disk. */
export function closeBooks(scenario: string, seed: number, devices: readonly FleetStats[], disk: DiskCounts, seconds: number, note: string): ScenarioBooks {
  const sum = (pick: (s: FleetStats) => number): number => devices.reduce((n, s) => n + pick(s), 0);
  const published = sum((s) => s.published);
  const buffered = sum((s) => s.buffered + s.pending + s.failed);
  const balance = published - disk.distinctIds - disk.refusals - buffered;
  return {
    scenario,
    seed,
    published,
    stored: disk.distinctIds,
    refused: disk.refusals,
    buffered,
    dropped: sum((s) => s.dropped),
    lost: Math.max(0, balance),
    unaccounted: Math.max(0, -balance),
    duplicated: disk.events - disk.distinctIds + (disk.distinctIds - disk.distinctDeviceSeqs),
    seconds,
    note,
  };
}

export function booksBalance(b: ScenarioBooks): boolean {
  return b.lost === 0 && b.unaccounted === 0 && b.duplicated === 0 && b.buffered === 0 && b.dropped === 0 && b.published > 0;
}

/** `failed`: scenarios that could not finish (their rig did not start, a wait ran out); they count as not balanced. */
export function chaosReport(books: readonly ScenarioBooks[], failed = 0): string {
  const header = ['scenario', 'seed', 'published', 'stored', 'refused', 'buffered', 'dropped', 'lost', 'unaccounted', 'duplicated', 'seconds', 'note'];
  const rows = books.map((b) =>
    [b.scenario, b.seed, b.published, b.stored, b.refused, b.buffered, b.dropped, b.lost, b.unaccounted, b.duplicated, b.seconds.toFixed(1), b.note].map(
      String,
    ),
  );
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]): string =>
    cells
      .map((c, i) => (i === 0 || i === cells.length - 1 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!)))
      .join('  ')
      .trimEnd();
  const total = (pick: (b: ScenarioBooks) => number): number => books.reduce((n, b) => n + pick(b), 0);
  return [
    line(header),
    ...rows.map(line),
    `scenarios=${books.length + failed} failed=${failed + books.filter((b) => !booksBalance(b)).length} published=${total((b) => b.published)} stored=${total((b) => b.stored)} refused=${total((b) => b.refused)} lost=${total((b) => b.lost)} duplicated=${total((b) => b.duplicated)}`,
  ].join('\n');
}
