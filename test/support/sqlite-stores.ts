import Database from 'better-sqlite3';
import { join } from 'node:path';

/**
 * Reads the embedded stores straight from their files, bypassing the server, so end-to-end tests
 * check what was really committed rather than what the API says.
 */
export interface StoredEventRow {
  id: string;
  deviceId: string;
  kind: string;
  body: string;
}

export function readRegionStore(
  dataDir: string,
  region: string,
): { events: StoredEventRow[]; refusals: { eventId: string | null; deviceId: string | null; reason: string; payload: Buffer | null }[] } {
  const db = new Database(join(dataDir, `${region}.db`), { readonly: true, fileMustExist: true });
  try {
    const events = db.prepare('SELECT id, deviceId, kind, body FROM Event').all() as StoredEventRow[];
    const refusals = db.prepare('SELECT eventId, deviceId, reason, payload FROM Refusal').all() as {
      eventId: string | null;
      deviceId: string | null;
      reason: string;
      payload: Buffer | null;
    }[];
    return { events, refusals };
  } finally {
    db.close();
  }
}

export function readDirectory(dataDir: string): { devices: Map<string, string>; unroutedRefusals: number } {
  const db = new Database(join(dataDir, 'directory.db'), { readonly: true, fileMustExist: true });
  try {
    const rows = db.prepare('SELECT deviceId, region FROM DirectoryEntry').all() as { deviceId: string; region: string }[];
    const refusals = db.prepare('SELECT COUNT(*) AS n FROM Refusal').get() as { n: number };
    return { devices: new Map(rows.map((r) => [r.deviceId, r.region])), unroutedRefusals: refusals.n };
  } finally {
    db.close();
  }
}
