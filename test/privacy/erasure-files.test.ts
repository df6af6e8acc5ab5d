import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Owner } from '../../schema/privacy.ts';
import { topics } from '../../schema/topics.ts';
import { unseal } from '../../server/privacy/owner-seal.ts';
import { ALL_CONSENT, eventOf, eventually } from '../server/app/helpers.ts';
import { everyRowAsText, sql } from './direct-db.ts';
import { ADMIN, postgresAvailable, startPrivacyStack, type PrivacyStack, type StoreFlavour } from './fixture.ts';

const withPostgres = await postgresAvailable();

/** Every file under the folder, as bytes. */
async function filesUnder(dir: string): Promise<{ file: string; bytes: Buffer }[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  const files = entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
  return Promise.all(files.map(async (file) => ({ file, bytes: await readFile(file) })));
}

/** Which needles appear anywhere in the raw bytes of any file under the folder, and where. */
async function scan(dir: string, needles: Record<string, Buffer>): Promise<Record<string, string[]>> {
  const found: Record<string, string[]> = {};
  for (const { file, bytes } of await filesUnder(dir)) {
    for (const [label, needle] of Object.entries(needles)) {
      if (bytes.includes(needle)) {
        found[label] = [...(found[label] ?? []), file.slice(dir.length + 1)];
      }
    }
  }
  return found;
}

const ownerKeyOf = (vaultFile: string, ownerId: string): Buffer | null => {
  const db = new Database(vaultFile, { readonly: true, fileMustExist: true });
  try {
    return (db.prepare('SELECT key FROM owner_key WHERE owner_id = ?').get(ownerId) as { key: Buffer } | undefined)?.key ?? null;
  } finally {
    db.close();
  }
};

describe.each<StoreFlavour>(['sqlite', ...(withPostgres ? (['postgres'] as const) : [])])('an erased owner is gone from the files on %s', (flavour) => {
  let stack: PrivacyStack;
  let device: MqttClient;
  const name = 'Zebulon Quarrymoor-Erasetest';
  const contact = 'zebulon.quarrymoor@erase.example';
  const token = 'tok_ZebulonErasedTok';
  // What leaky firmware sends in a payload the server refuses (and, with payloads kept, quarantines).
  const leaked = 'LeakedOwnerNameZebulonQuarrymoor';
  const keeperToken = 'tok_KeeperStaysHereNow';
  let zebulon: Owner;
  let keeper: Owner;
  let zebulonsDevice = '';
  let keepersDevice = '';
  const zebulonsEvents: string[] = [];
  let zebulonsKey: Buffer;
  let sealedRow: { name: string; contact: string };
  const vaultFile = (): string => join(stack.dataDir, 'keys-eu.db');

  async function deviceOf(owner: Owner): Promise<string> {
    const id = ((await stack.api('POST', '/api/v1/devices', ADMIN, { region: 'eu', consent: ALL_CONSENT })).json as { id: string }).id;
    expect((await stack.api('POST', `/api/v1/owners/${owner.id}/devices`, ADMIN, { deviceId: id })).status).toBe(200);
    return id;
  }

  async function publishPayments(deviceId: string, tok: string, count: number): Promise<string[]> {
    const ids: string[] = [];
    for (let i = 0; i < count; i++) {
      const event = eventOf('payment', deviceId, new Date(), i + 1);
      event.body.token = tok;
      ids.push(event.id);
      await device.publishAsync(topics.event(deviceId, 'payment'), JSON.stringify(event), { qos: 1 });
    }
    return ids;
  }

  const needles = (): Record<string, Buffer> => ({
    name: Buffer.from(name),
    contact: Buffer.from(contact),
    token: Buffer.from(token),
    leaked: Buffer.from(leaked),
    eventId: Buffer.from(zebulonsEvents[0]!),
    lastEventId: Buffer.from(zebulonsEvents.at(-1)!),
    key: zebulonsKey,
    keeperToken: Buffer.from(keeperToken),
  });

  beforeAll(async () => {
    stack = await startPrivacyStack(flavour, { ingest: { quarantinePayloads: true, lingerMs: 0, drainTimeoutMs: 1_000 } });
    device = await mqtt.connectAsync(stack.brokerUrl, { clientId: `erasure-files-${flavour}-${Date.now()}` });
    zebulon = (await stack.api('POST', '/api/v1/owners', ADMIN, { region: 'eu', name, contact })).json as Owner;
    keeper = (await stack.api('POST', '/api/v1/owners', ADMIN, { region: 'eu', name: 'Keeper Control', contact: 'keeper@erase.example' })).json as Owner;
    zebulonsDevice = await deviceOf(zebulon);
    keepersDevice = await deviceOf(keeper);
    zebulonsEvents.push(...(await publishPayments(zebulonsDevice, token, 300)));
    await publishPayments(keepersDevice, keeperToken, 20);
    await device.publishAsync(topics.event(zebulonsDevice, 'brew'), `{"ownerName":"${leaked}", not json`, { qos: 1 });
    const eu = stack.storeUrls.eu!;
    await eventually(async () => {
      expect(Number((await sql<{ n: number | string }>(eu, 'SELECT COUNT(*) AS n FROM "Event"'))[0]!.n)).toBe(320);
      expect(Number((await sql<{ n: number | string }>(eu, `SELECT COUNT(*) AS n FROM "Refusal" WHERE "payload" IS NOT NULL`))[0]!.n)).toBe(1);
    }, 20_000);
    zebulonsKey = ownerKeyOf(vaultFile(), zebulon.id)!;
    sealedRow = (await sql<{ name: string; contact: string }>(eu, `SELECT "name", "contact" FROM "Owner" WHERE "id" = '${zebulon.id}'`))[0]!;
  }, 60_000);

  afterAll(async () => {
    await device?.endAsync();
    await stack?.close();
  });

  it('stores the name and contact sealed under a key kept outside the region store', async () => {
    expect(zebulonsKey).toHaveLength(32);
    expect(sealedRow.name).toMatch(/^sealed:v1:/);
    expect(sealedRow.name).not.toContain(name);
    expect(unseal(zebulonsKey, zebulon.id, 'name', sealedRow.name)).toBe(name);
    expect(unseal(zebulonsKey, zebulon.id, 'contact', sealedRow.contact)).toBe(contact);
    // A sealed value is bound to its owner and field: moved into another column it does not open.
    expect(() => unseal(zebulonsKey, zebulon.id, 'contact', sealedRow.name)).toThrow();
    const found = await scan(stack.dataDir, needles());
    // The name and contact never reached any file in the clear; the payments and the leaky payload did (SQLite only: they live in PostgreSQL otherwise).
    expect(found.name).toBeUndefined();
    expect(found.contact).toBeUndefined();
    expect(found.key).toEqual(['keys-eu.db']);
    expect(Object.keys(found).sort()).toEqual(flavour === 'sqlite' ? ['eventId', 'keeperToken', 'key', 'lastEventId', 'leaked', 'token'] : ['key']);
    if (flavour === 'postgres') {
      const rows = await everyRowAsText(stack.storeUrls.eu!);
      for (const plain of [name, contact]) expect(rows).not.toContain(plain);
      for (const stored of [token, leaked, zebulonsEvents[0]!]) expect(rows).toContain(stored);
    }
  });

  it('leaves no byte of the owner, their events or their key in any file after the erasure, nor after close', async () => {
    const erased = await stack.api('DELETE', `/api/v1/owners/${zebulon.id}`, ADMIN);
    expect(erased).toMatchObject({ status: 200, json: { erased: { owners: 1, devices: 1, events: 300, refusals: 1 } } });
    expect(ownerKeyOf(vaultFile(), zebulon.id)).toBeNull();
    // The sealed bytes a backup (or a dead tuple) still holds open with no key there is.
    expect(await stack.api('GET', `/api/v1/owners/${zebulon.id}`, ADMIN)).toMatchObject({ status: 404 });

    // Still running: the database file, its WAL and shm, the vault. Only the other owner's payments remain.
    const { keeperToken: keptWhileRunning, ...goneWhileRunning } = await scan(stack.dataDir, needles());
    expect(goneWhileRunning).toEqual({});
    if (flavour === 'sqlite') expect(keptWhileRunning).toBeDefined();

    await stack.server.close();
    const { keeperToken: keptAfterClose, ...goneAfterClose } = await scan(stack.dataDir, needles());
    expect(goneAfterClose).toEqual({});
    if (flavour === 'sqlite') expect(keptAfterClose).toEqual(['eu.db']);
    if (flavour === 'postgres') {
      const rows = await everyRowAsText(stack.storeUrls.eu!);
      for (const gone of [name, contact, token, leaked, ...zebulonsEvents]) expect(rows).not.toContain(gone);
      expect(rows).toContain(keeperToken);
      expect(await sql(stack.storeUrls.eu!, `SELECT * FROM "Owner" WHERE "id" = '${zebulon.id}'`)).toEqual([]);
    }
  });
});
