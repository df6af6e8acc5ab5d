import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { topics } from '../../../schema/topics.ts';
import type { IngestContext } from '../../../server/ingest/message.ts';
import { runPipeline, type Step } from '../../../server/ingest/pipeline.ts';
import { REFUSAL_REASONS, type RefusalReason } from '../../../server/ingest/reasons.ts';
import { consent } from '../../../server/ingest/steps/consent.ts';
import { decode } from '../../../server/ingest/steps/decode.ts';
import { identify } from '../../../server/ingest/steps/identify.ts';
import { minimise } from '../../../server/ingest/steps/minimise.ts';
import { route } from '../../../server/ingest/steps/route.ts';
import { tombstone } from '../../../server/ingest/steps/tombstone.ts';
import { validate } from '../../../server/ingest/steps/validate.ts';
import { write } from '../../../server/ingest/steps/write.ts';
import type { ConsentRow, DirectoryEntry, EventRow } from '../../../server/store/types.ts';
import { ALL_CONSENT, consentRow, eventOf } from './helpers.ts';

const logger = pino({ level: 'silent' });
const euDevice = 'cm-eeeeeeeeeeeeeeee';
const lostDevice = 'cm-llllllllllllllll';
const erasedDevice = 'cm-dddddddddddddddd';
const provisionedAt = new Date(Date.now() - 60_000);

const directory = new Map<string, DirectoryEntry>([
  [euDevice, { deviceId: euDevice, region: 'eu', secretHash: 'scrypt$…', createdAt: provisionedAt }],
  [lostDevice, { deviceId: lostDevice, region: 'mars', secretHash: 'scrypt$…', createdAt: provisionedAt }],
  [erasedDevice, { deviceId: erasedDevice, region: 'eu', secretHash: 'revoked', createdAt: provisionedAt }],
]);

function assemble(ledger: ConsentRow[], written: { region: string; row: EventRow }[]): Step[] {
  return [
    decode,
    validate,
    identify(async (id) => directory.get(id) ?? null),
    route((region) => region === 'eu'),
    tombstone(async (_region, deviceId) => deviceId === erasedDevice),
    consent(async () => ledger),
    minimise,
    write(async (region, row) => {
      written.push({ region, row });
    }),
  ];
}

function message(topic: string, payload: unknown): IngestContext {
  const text = typeof payload === 'string' ? payload : JSON.stringify(payload);
  return { message: { topic, payload: Buffer.from(text), receivedAt: new Date() } };
}

async function run(ctx: IngestContext, ledger = [consentRow(euDevice, 1, provisionedAt, ALL_CONSENT)]) {
  const written: { region: string; row: EventRow }[] = [];
  const refusal = await runPipeline(assemble(ledger, written), ctx, logger);
  return { refusal: refusal?.reason, written, ctx };
}

describe('ingest pipeline', () => {
  it('stores a valid event in its home region, keyed by event id', async () => {
    const event = eventOf('brew', euDevice);
    const { refusal, written } = await run(message(topics.event(euDevice, 'brew'), event));
    expect(refusal).toBeUndefined();
    expect(written).toHaveLength(1);
    expect(written[0]!.region).toBe('eu');
    expect(written[0]!.row).toMatchObject({ id: event.id, deviceId: euDevice, kind: 'brew', seq: 1, consentVersion: 1 });
    expect(JSON.parse(written[0]!.row.body)).toEqual(event.body);
  });

  it('coarsens a location to the consented precision before writing', async () => {
    const event = eventOf('location', euDevice);
    const ledger = [consentRow(euDevice, 1, provisionedAt, { location: 'coarse' })];
    const { refusal, written } = await run(message(topics.event(euDevice, 'location'), event), ledger);
    expect(refusal).toBeUndefined();
    expect(JSON.parse(written[0]!.row.body)).toEqual({ precision: 'coarse', lat: 48.9, lon: 2.4, accuracyM: 10_000 });
  });

  const valid = (): ReturnType<typeof eventOf<'brew'>> => eventOf('brew', euDevice);
  const cases: [RefusalReason, () => IngestContext, ConsentRow[]?][] = [
    ['malformed_json', () => message(topics.event(euDevice, 'brew'), '{"v":1,')],
    ['schema_invalid', () => message(topics.event(euDevice, 'brew'), { ...valid(), body: { recipe: 'mud' } })],
    ['topic_invalid', () => message(`coffee/v1/${euDevice}/evt/brew/extra`, valid())],
    ['device_mismatch', () => message(topics.event('cm-ssssssssssssssss', 'brew'), valid())],
    ['kind_mismatch', () => message(topics.event(euDevice, 'status'), valid())],
    ['unknown_device', () => message(topics.event('cm-uuuuuuuuuuuuuuuu', 'brew'), eventOf('brew', 'cm-uuuuuuuuuuuuuuuu'))],
    ['region_unavailable', () => message(topics.event(lostDevice, 'brew'), eventOf('brew', lostDevice))],
    ['not_consented', () => message(topics.event(euDevice, 'brew'), valid()), [consentRow(euDevice, 1, provisionedAt, { diagnostics: true })]],
    ['device_erased', () => message(topics.event(erasedDevice, 'brew'), eventOf('brew', erasedDevice)), [consentRow(erasedDevice, 1, provisionedAt, ALL_CONSENT)]],
  ];

  it.each(cases)('refuses with %s and writes nothing', async (reason, build, ledger) => {
    const { refusal, written } = await run(build(), ledger);
    expect(refusal).toBe(reason);
    expect(written).toHaveLength(0);
  });

  it('refuses an event from before the first consent record', async () => {
    const early = eventOf('brew', euDevice, new Date(provisionedAt.getTime() - 1_000));
    expect((await run(message(topics.event(euDevice, 'brew'), early))).refusal).toBe('not_consented');
  });

  it('turns a failing step into internal_error instead of throwing', async () => {
    const broken: Step = { name: 'broken', run: () => { throw new Error('bug'); } };
    const ctx = message(topics.event(euDevice, 'brew'), valid());
    expect(await runPipeline([decode, broken], ctx, logger)).toEqual({ reason: 'internal_error' });
  });

  it('has a test for every stable reason code', () => {
    const tested = new Set<string>([...cases.map(([reason]) => reason), 'internal_error']);
    expect([...REFUSAL_REASONS].sort()).toEqual([...tested].sort());
  });
});
