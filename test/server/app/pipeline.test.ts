import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { topics } from '../../../schema/topics.ts';
import type { IngestContext } from '../../../server/ingest/message.ts';
import { runPipeline, type Step } from '../../../server/ingest/pipeline.ts';
import { REFUSAL_REASONS, type RefusalReason } from '../../../server/ingest/reasons.ts';
import { RegionAdmission } from '../../../server/ingest/region-admission.ts';
import { inClockWindow } from '../../../server/ingest/steps/clock.ts';
import { decode } from '../../../server/ingest/steps/decode.ts';
import { ingestSteps } from '../../../server/ingest/steps/order.ts';
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

const HOUR = 3_600_000;
/** Rows the (stand-in) store declines as if its transaction found them so: by device id. */
const declinedByStore = new Map<string, RefusalReason>([
  ['cm-rrrrrrrrrrrrrrrr', 'store_rejected'],
  ['cm-tttttttttttttttt', 'device_erased'],
]);
// cm-ssss: a registered device whose topic carries another device's envelope (device_mismatch).
for (const id of [...declinedByStore.keys(), 'cm-ssssssssssssssss'])
  directory.set(id, { deviceId: id, region: 'eu', secretHash: 'x', createdAt: provisionedAt });

/** The real steps in ingest's real order; only their I/O is stood in for. */
function assemble(ledger: ConsentRow[], written: { region: string; row: EventRow }[], seen: { payloadRead: boolean }): readonly Step[] {
  const steps = ingestSteps({
    lookup: async (id) => directory.get(id) ?? null,
    hasRegion: (region) => region === 'eu',
    erased: async (_region, deviceId) => deviceId === erasedDevice,
    admission: new RegionAdmission(
      100,
      () => false,
      () => undefined,
    ),
    clockWindow: { aheadMs: 6 * HOUR, behindMs: 48 * HOUR },
    ledger: async (deviceId) => ledger.map((row) => ({ ...row, deviceId })),
    writeRow: async (region, row) => {
      const declined = declinedByStore.get(row.deviceId);
      if (!declined) written.push({ region, row });
      return declined;
    },
  });
  // Tells whether any step up to here has read the payload.
  return steps.map((step) =>
    step.name === 'decode'
      ? {
          name: step.name,
          run: (ctx: IngestContext) => {
            seen.payloadRead = true;
            return step.run(ctx);
          },
        }
      : step,
  );
}

function message(topic: string, payload: unknown): IngestContext {
  const text = typeof payload === 'string' ? payload : JSON.stringify(payload);
  return { message: { topic, payload: Buffer.from(text), receivedAt: new Date() } };
}

async function run(ctx: IngestContext, ledger = [consentRow(euDevice, 1, provisionedAt, ALL_CONSENT)]) {
  const written: { region: string; row: EventRow }[] = [];
  const seen = { payloadRead: false };
  const refusal = await runPipeline(assemble(ledger, written, seen), ctx, logger);
  return { refusal: refusal?.reason, written, ctx, payloadRead: seen.payloadRead };
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
    [
      'device_erased',
      () => message(topics.event(erasedDevice, 'brew'), eventOf('brew', erasedDevice)),
      [consentRow(erasedDevice, 1, provisionedAt, ALL_CONSENT)],
    ],
    ['clock_out_of_range', () => message(topics.event(euDevice, 'brew'), eventOf('brew', euDevice, new Date(Date.now() + 7 * HOUR)))],
    ['store_rejected', () => message(topics.event('cm-rrrrrrrrrrrrrrrr', 'brew'), eventOf('brew', 'cm-rrrrrrrrrrrrrrrr'))],
  ];

  it.each(cases)('refuses with %s and writes nothing', async (reason, build, ledger) => {
    const { refusal, written } = await run(build(), ledger);
    expect(refusal).toBe(reason);
    expect(written).toHaveLength(0);
  });

  it('refuses an erased device before anything reads its payload, whatever the payload is', async () => {
    for (const payload of ['{"v":1,', '{"ownerName":"Ada Lovelace"}', JSON.stringify(eventOf('brew', erasedDevice))]) {
      const { refusal, ctx, payloadRead } = await run(message(topics.event(erasedDevice, 'brew'), payload));
      expect(refusal).toBe('device_erased');
      expect(payloadRead).toBe(false);
      expect(ctx.json).toBeUndefined();
      expect(ctx.event).toBeUndefined();
    }
  });

  it('refuses as device_erased a row the store declined for a tombstone it found inside the write', async () => {
    const device = 'cm-tttttttttttttttt';
    const { refusal, written } = await run(message(topics.event(device, 'brew'), eventOf('brew', device)));
    expect(refusal).toBe('device_erased');
    expect(written).toHaveLength(0);
  });

  it('takes device clocks inside the window, and none the API could not write back out', async () => {
    const longConsented = [consentRow(euDevice, 1, new Date(Date.now() - 100 * HOUR), ALL_CONSENT)];
    const at = (ms: number) => run(message(topics.event(euDevice, 'brew'), eventOf('brew', euDevice, new Date(ms))), longConsented);
    expect((await at(Date.now() + 5 * HOUR)).refusal).toBeUndefined();
    expect((await at(Date.now() - 47 * HOUR)).refusal).toBeUndefined();
    expect((await at(Date.now() - 49 * HOUR)).refusal).toBe('clock_out_of_range');
    const year10000 = { ...eventOf('brew', euDevice), ts: '9999-12-31T23:00:00-05:00' };
    expect((await run(message(topics.event(euDevice, 'brew'), year10000))).refusal).toBe('clock_out_of_range');
    // However wide a window is configured, years outside 0000-9999 UTC never pass.
    const open = { aheadMs: Number.MAX_SAFE_INTEGER, behindMs: Number.MAX_SAFE_INTEGER };
    expect(inClockWindow(Date.parse(year10000.ts), Date.now(), open)).toBe(false);
    expect(inClockWindow(Date.parse('0000-01-01T00:30:00+01:00'), Date.now(), open)).toBe(false);
    expect(inClockWindow(Date.parse('9999-12-31T23:59:59.999Z'), Date.now(), open)).toBe(true);
  });

  it('refuses an event from before the first consent record', async () => {
    const early = eventOf('brew', euDevice, new Date(provisionedAt.getTime() - 1_000));
    expect((await run(message(topics.event(euDevice, 'brew'), early))).refusal).toBe('not_consented');
  });

  it('turns a failing step into internal_error instead of throwing', async () => {
    const broken: Step = {
      name: 'broken',
      run: () => {
        throw new Error('bug');
      },
    };
    const ctx = message(topics.event(euDevice, 'brew'), valid());
    expect(await runPipeline([decode, broken], ctx, logger)).toEqual({
      reason: 'internal_error',
      findings: [{ path: 'step.broken', problem: 'internal error' }],
    });
  });

  it('has a test for every stable reason code', () => {
    const tested = new Set<string>([...cases.map(([reason]) => reason), 'internal_error']);
    expect([...REFUSAL_REASONS].sort()).toEqual([...tested].sort());
  });
});
