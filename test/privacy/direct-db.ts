import Database from 'better-sqlite3';
import pg from 'pg';

/**
 * Reads and edits a store's database directly, around the server, so tests check what is really
 * there (and can tamper with it the way an intruder with database access would).
 */
export async function sql<T = Record<string, unknown>>(url: string, statement: string): Promise<T[]> {
  if (url.startsWith('file:')) {
    const db = new Database(url.slice('file:'.length), { fileMustExist: true });
    try {
      const prepared = db.prepare(statement);
      if (prepared.reader) return prepared.all() as T[];
      prepared.run();
      return [];
    } finally {
      db.close();
    }
  }
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(statement)).rows as T[];
  } finally {
    await client.end();
  }
}

const TABLES = ['Owner', 'Device', 'OwnershipPeriod', 'ConsentRecord', 'Event', 'Refusal', 'Tombstone', 'AuditEntry', 'AuditCheckpoint', 'DirectoryEntry'];

/** Every row of every table as JSON text: to prove a value is in no table at all. */
export async function everyRowAsText(url: string): Promise<string> {
  const parts: string[] = [];
  for (const table of TABLES) {
    const rows = await sql(url, `SELECT * FROM "${table}"`);
    // Bytes as text before stringify: a Buffer's toJSON would otherwise turn it into a list of numbers first.
    const readable = rows.map((row) => Object.fromEntries(Object.entries(row).map(([k, v]) => [k, Buffer.isBuffer(v) ? v.toString('latin1') : v])));
    parts.push(JSON.stringify(readable, (_k, v: unknown) => (typeof v === 'bigint' ? Number(v) : v)));
  }
  return parts.join('\n');
}
