import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { z } from 'zod';
import { CONSENT_VERSION_MAX, consentRecordSchema } from '../../../schema/consent.ts';
import { brewEventSchema, EVENT_KINDS, eventEnvelopeSchema, type EventKind, type EventEnvelope } from '../../../schema/events.ts';
import { createOwnerRequestSchema } from '../../../schema/privacy.ts';
import { eventTopic, flavours, openIngestRig, type IngestRig } from '../../ingest/ingest-rig.ts';
import { validEvents } from '../../schema/samples.ts';

/**
 * Every field of a contract schema that reaches a column, with the column and why every value the
 * schema admits fits it on both stores. `column: null`: the field is checked but not stored as sent.
 * Columns filled by the server alone (receive time, reason, hashes) are listed with schema 'server'.
 */
const FIELD_COLUMNS: { schema: string; field: string; column: string | null; fits: string }[] = [
  { schema: 'event envelope', field: 'v', column: null, fits: 'a literal; not stored' },
  { schema: 'event envelope', field: 'id', column: 'Event.id', fits: 'UUIDv7, 36 characters: text on both' },
  { schema: 'event envelope', field: 'deviceId', column: 'Event.deviceId', fits: '3-64 of [a-z0-9-]: text on both' },
  { schema: 'event envelope', field: 'kind', column: 'Event.kind', fits: 'one of five words' },
  { schema: 'event envelope', field: 'seq', column: 'Event.seq', fits: '0..2^53-1: int8 on PostgreSQL (was int4), 64-bit INTEGER on SQLite' },
  {
    schema: 'event envelope',
    field: 'ts',
    column: 'Event.deviceTs',
    fits: 'inside the clock window and years 0000-9999 UTC (the schema alone admits year 10000 in UTC): timestamp(3) / ISO text',
  },
  { schema: 'event envelope', field: 'consentVersion', column: null, fits: 'not stored: Event.consentVersion is the ledger version ingest decided under' },
  {
    schema: 'event envelope',
    field: 'body',
    column: 'Event.body',
    fits: 'the validated body as JSON text: text on both; numbers are bounded doubles, strings enums or strict forms',
  },
  { schema: 'server', field: 'ledger version', column: 'Event.consentVersion', fits: 'a ConsentRecord.version, at most 2^31-1' },
  { schema: 'server', field: 'receive time', column: 'Event.receivedAt', fits: "the server's clock" },
  { schema: 'consent record', field: 'deviceId', column: 'ConsentRecord.deviceId', fits: 'device id grammar' },
  {
    schema: 'consent record',
    field: 'version',
    column: 'ConsentRecord.version',
    fits: '1..2^31-1 (narrowed: int4 on PostgreSQL; the cloud issues versions one by one)',
  },
  { schema: 'consent record', field: 'issuedAt', column: 'ConsentRecord.issuedAt', fits: "the server's clock when it issues the record" },
  { schema: 'consent record', field: 'categories.usage', column: 'ConsentRecord.usage', fits: 'boolean' },
  { schema: 'consent record', field: 'categories.location', column: 'ConsentRecord.location', fits: 'none | coarse | exact' },
  { schema: 'consent record', field: 'categories.payment', column: 'ConsentRecord.payment', fits: 'boolean' },
  { schema: 'consent record', field: 'categories.diagnostics', column: 'ConsentRecord.diagnostics', fits: 'boolean' },
  { schema: 'server', field: 'token subject', column: 'ConsentRecord.actor', fits: 'server configuration' },
  { schema: 'consent change', field: 'channel', column: 'ConsentRecord.channel', fits: 'an enum (or provisioning)' },
  {
    schema: 'create owner',
    field: 'name',
    column: 'Owner.name',
    fits: '1-200 UTF-16 units, no NUL or lone surrogate (narrowed: PostgreSQL text holds no NUL)',
  },
  { schema: 'create owner', field: 'contact', column: 'Owner.contact', fits: '1-500 UTF-16 units, no NUL or lone surrogate (narrowed, as name)' },
  { schema: 'create owner', field: 'region', column: 'Owner.id', fits: 'own-{region}-{16 base32}, minted by the server' },
  { schema: 'server', field: 'pseudonym', column: 'Owner.pseudonym', fits: 'ps- + 32 hex' },
  { schema: 'server', field: 'created', column: 'Owner.createdAt', fits: "the server's clock" },
  { schema: 'topic', field: 'deviceId', column: 'Refusal.deviceId', fits: 'device id grammar (from a parsed topic) or null' },
  { schema: 'event envelope', field: 'id', column: 'Refusal.eventId', fits: 'a validated event id or null' },
  { schema: 'topic', field: 'kind', column: 'Refusal.kind', fits: 'an event kind or null' },
  { schema: 'server', field: 'payload', column: 'Refusal.payload', fits: 'the bytes as received, at most the broker packet size: bytea / BLOB' },
  { schema: 'server', field: 'reason', column: 'Refusal.reason', fits: 'a stable reason code' },
  { schema: 'server', field: 'receive time', column: 'Refusal.receivedAt', fits: "the server's clock" },
  { schema: 'server', field: 'row id', column: 'Refusal.id', fits: 'autoincrement int4 on PostgreSQL (see docs/security.md)' },
  {
    schema: 'server',
    field: 'explanation',
    column: 'Refusal.explanation',
    fits: 'JSON text, bounded by server/ingest/explanation.ts (at most 24 findings and 64 field names): TEXT',
  },
  { schema: 'provision device', field: 'region', column: 'DirectoryEntry.region', fits: 'a configured region id' },
  { schema: 'server', field: 'device id', column: 'DirectoryEntry.deviceId', fits: 'minted cm- + 16 base32' },
  { schema: 'server', field: 'secret hash', column: 'DirectoryEntry.secretHash', fits: 'a hash string' },
  { schema: 'server', field: 'created', column: 'DirectoryEntry.createdAt', fits: "the server's clock" },
  { schema: 'server', field: 'device id', column: 'Device.id', fits: 'minted cm- + 16 base32' },
  { schema: 'server', field: 'created', column: 'Device.createdAt', fits: "the server's clock" },
  { schema: 'server', field: 'owner pseudonym', column: 'Device.ownerPseudonym', fits: 'ps- + 32 hex or null' },
];

/** The columns of a model in the one models file. */
function columnsOf(model: string): string[] {
  const text = readFileSync(new URL('../../../server/store/prisma/models.prisma', import.meta.url), 'utf8');
  const block = new RegExp(`model ${model} \\{([^}]*)\\}`).exec(text)?.[1] ?? '';
  return block
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => /^[a-zA-Z]\w*\s/.test(l))
    .map((l) => `${model}.${l.split(/\s+/)[0]}`);
}

const WITH_CONTRACT_FIELDS = ['Event', 'Refusal', 'ConsentRecord', 'Owner', 'Device', 'DirectoryEntry'];

describe('schema field -> column table', () => {
  it('covers every column of the tables contract values reach, and every envelope field', () => {
    const listed = new Set(FIELD_COLUMNS.map((f) => f.column));
    for (const model of WITH_CONTRACT_FIELDS) for (const column of columnsOf(model)) expect(listed, column).toContain(column);
    const envelopeFields = FIELD_COLUMNS.filter((f) => f.schema === 'event envelope').map((f) => f.field);
    expect(new Set(envelopeFields)).toEqual(new Set(Object.keys(brewEventSchema.shape)));
  });
});

type Shape = Record<string, z.ZodType>;
const shapeOf = (kind: EventKind): Shape =>
  (eventEnvelopeSchema.options.find((o) => o.shape.kind.value === kind)!.shape.body as unknown as { shape: Shape }).shape;

/** The values a body field's schema admits at its edges: both ends of a range, every enum member. */
function extremesOf(field: z.ZodType, sample: unknown): unknown[] {
  const f = field as unknown as { type: string; minValue?: number | null; maxValue?: number | null; options?: unknown[] };
  const candidates: unknown[] = [sample];
  if (f.type === 'number') candidates.push(f.minValue, f.maxValue, Number.MIN_VALUE, (f.minValue ?? 0) + Number.EPSILON);
  if (f.type === 'enum') candidates.push(...(f.options ?? []));
  if (f.type === 'boolean') candidates.push(true, false);
  if (f.type === 'string') candidates.push(`tok_${'Z'.repeat(24)}12345678`, `tok_${'a'.repeat(16)}`, 'XYZ');
  return [...new Set(candidates.filter((v) => v !== null && v !== undefined && field.safeParse(v).success))];
}

/** One event per extreme value, every other field as in the sample. */
function extremeBodies(kind: EventKind): Record<string, unknown>[] {
  const sample = validEvents[kind].body as Record<string, unknown>;
  return Object.entries(shapeOf(kind)).flatMap(([key, field]) => extremesOf(field, sample[key]).map((value) => ({ ...sample, [key]: value })));
}

const HOUR = 3_600_000;
const WINDOW = { clockAheadMs: 24 * HOUR, clockBehindMs: 6 * 24 * HOUR };

/** An ISO time with a numeric offset, as devices may send it. */
function withOffset(ms: number, offsetMin: number): string {
  const local = new Date(ms + offsetMin * 60_000).toISOString().replace('Z', '');
  const sign = offsetMin < 0 ? '-' : '+';
  const abs = Math.abs(offsetMin);
  return `${local}${sign}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
}

function uuidv7At(ms: number): string {
  const bytes = randomBytes(16);
  bytes.writeUIntBE(ms, 0, 6);
  bytes[6] = (bytes[6]! & 0x0f) | 0x70;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  const h = bytes.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

describe.each(await flavours())('every value the contract admits, written through the real write path and read back, on %s', (flavour) => {
  let rig: IngestRig;
  const received = new Date();

  beforeAll(async () => {
    rig = await openIngestRig(flavour, WINDOW);
  }, 60_000);

  afterAll(async () => {
    await rig?.close();
  });

  it('events: envelope and body extremes go in through ingest and come back unchanged', async () => {
    const deviceId = await rig.device('eu', `cm-${'z'.repeat(59)}-a`);
    const envelopes: EventEnvelope[] = [];
    let seq = 0;
    const at = (ms: number, offsetMin = 0) => ({ id: uuidv7At(Math.max(0, ms)), ts: withOffset(ms, offsetMin) });
    const base = (kind: EventKind) => ({ ...structuredClone(validEvents[kind]), deviceId, ...at(received.getTime() - HOUR), seq: ++seq, consentVersion: 1 });
    for (const kind of EVENT_KINDS) for (const body of extremeBodies(kind)) envelopes.push({ ...base(kind), body } as EventEnvelope);
    const brew = (patch: Partial<EventEnvelope>) => ({ ...base('brew'), ...patch }) as EventEnvelope;
    envelopes.push(
      brew({ seq: 0 }),
      brew({ seq: Number.MAX_SAFE_INTEGER }),
      brew({ consentVersion: Number.MAX_SAFE_INTEGER }),
      // The window's edges, in the extreme offsets ISO 8601 has.
      brew(at(received.getTime() + WINDOW.clockAheadMs, 14 * 60)),
      brew(at(received.getTime() - WINDOW.clockBehindMs + 1_000, -12 * 60)),
      brew({ id: uuidv7At(0) }),
      brew({ id: uuidv7At(2 ** 48 - 1) }),
    );
    for (const e of envelopes) expect(eventEnvelopeSchema.safeParse(e).success, JSON.stringify(e)).toBe(true);

    const outcomes = await Promise.all(envelopes.map((e) => rig.send(eventTopic(deviceId, e.kind), e, received)));
    expect(outcomes.filter((o) => o.status !== 'stored')).toEqual([]);

    const stored = new Map((await rig.stores.regions.get('eu')!.listEvents(deviceId, { limit: 1_000 })).map((r) => [r.id, r]));
    expect(stored.size).toBe(envelopes.length);
    for (const e of envelopes) {
      const row = stored.get(e.id)!;
      expect(row, e.id).toMatchObject({ deviceId, kind: e.kind, seq: e.seq, consentVersion: 1 });
      expect(row.deviceTs.getTime()).toBe(Date.parse(e.ts));
      expect(JSON.parse(row.body)).toEqual(e.body);
    }
  }, 60_000);

  it('events the schema admits but the stores could not hold are refused with a reason, never written', async () => {
    const deviceId = await rig.device('eu');
    const year10000 = { ...validEvents.brew, deviceId, id: uuidv7At(Date.now()), seq: 1, consentVersion: 1, ts: '9999-12-31T23:00:00-05:00' };
    expect(eventEnvelopeSchema.safeParse(year10000).success).toBe(true);
    expect(await rig.send(eventTopic(deviceId), year10000, received)).toMatchObject({ status: 'refused', reason: 'clock_out_of_range' });
    const year0 = { ...year10000, id: uuidv7At(Date.now()), ts: '0000-01-01T00:30:00+01:00' };
    expect(await rig.send(eventTopic(deviceId), year0, received)).toMatchObject({ status: 'refused', reason: 'clock_out_of_range' });
    expect(await rig.stores.regions.get('eu')!.listEvents(deviceId, { limit: 10 })).toEqual([]);
  });

  it('consent records: the highest version the schema admits is kept, one more is refused by the schema', async () => {
    const store = rig.stores.regions.get('eu')!;
    const deviceId = await rig.device('eu');
    const record = consentRecordSchema.parse({
      deviceId,
      version: CONSENT_VERSION_MAX,
      issuedAt: received.toISOString(),
      categories: { usage: true, location: 'exact', payment: false, diagnostics: true },
    });
    await store.appendConsent({
      deviceId,
      version: record.version,
      issuedAt: new Date(record.issuedAt),
      categories: record.categories,
      actor: 'a'.repeat(64),
      channel: 'support',
    });
    expect((await store.consentHistory(deviceId)).at(-1)).toMatchObject({ version: CONSENT_VERSION_MAX, categories: record.categories, actor: 'a'.repeat(64) });
    expect(consentRecordSchema.safeParse({ ...record, version: CONSENT_VERSION_MAX + 1 }).success).toBe(false);
  });

  it('owners: the longest name and contact, in astral and combining characters, are kept; NUL and lone surrogates are refused by the schema', async () => {
    const store = rig.stores.regions.get('eu')!;
    const request = createOwnerRequestSchema.parse({ region: 'eu', name: `${'\u{1F600}'.repeat(99)}é\u0301`, contact: `${'\u0416\t\n'.repeat(166)}xy` });
    expect(request.name.length).toBe(200);
    expect(request.contact.length).toBe(500);
    const id = `own-eu-${'a'.repeat(16)}`;
    await store.createOwner({ id, pseudonym: `ps-${'0'.repeat(32)}`, name: request.name, contact: request.contact, createdAt: received });
    expect(await store.getOwner(id)).toMatchObject({ name: request.name, contact: request.contact });
    for (const bad of ['Ada\u0000', 'half \uD83D pair', 'other \uDE00 half']) {
      expect(createOwnerRequestSchema.safeParse({ region: 'eu', name: bad, contact: 'x' }).success, JSON.stringify(bad)).toBe(false);
      expect(createOwnerRequestSchema.safeParse({ region: 'eu', name: 'x', contact: bad }).success, JSON.stringify(bad)).toBe(false);
    }
  });

  it('quarantine: a payload of any bytes, at the broker packet size, is kept byte for byte', async () => {
    const deviceId = await rig.device('eu');
    const payload = Buffer.concat([Buffer.from([0, 0xff, 0xc3, 0x28, 0xed, 0xa0, 0x80]), randomBytes(256 * 1024 - 7)]);
    expect(await rig.send(eventTopic(deviceId), payload, received)).toMatchObject({ status: 'refused' });
    const page = await rig.stores.regions.get('eu')!.listRefusals({ limit: 5 });
    const mine = page.find((r) => r.deviceId === deviceId)!;
    expect(mine.payload?.equals(payload)).toBe(true);
  });

  it('directory and device rows: the longest device id the grammar admits', async () => {
    const deviceId = `c${'0-'.repeat(31)}9`;
    expect(deviceId.length).toBe(64);
    await rig.stores.directory.register({ deviceId, region: 'us', secretHash: 'h'.repeat(200), createdAt: received });
    expect(await rig.stores.directory.lookup(deviceId)).toMatchObject({ deviceId, region: 'us' });
    await rig.stores.regions.get('us')!.addDevice(deviceId, received);
    expect(await rig.stores.regions.get('us')!.getDevice(deviceId)).toMatchObject({ id: deviceId });
  });
});
