import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MachineModel } from '../../firmware-sim/machine-model.ts';
import type { OutgoingEnvelope } from '../../firmware-sim/envelope.ts';
import type { EventKind } from '../../schema/events.ts';
import type { RefusalExplanation } from '../../schema/refusal-explanation.ts';
import { explain, fieldNames, readExplanation } from '../../server/ingest/explanation.ts';
import { sql } from '../privacy/direct-db.ts';
import { eventOf } from '../server/app/helpers.ts';
import { eventTopic, flavours, openIngestRig, type IngestRig } from './ingest-rig.ts';

/**
 * Ingest keeps, with every refusal, why it refused: schema paths and fixed problem words, and the
 * field names the message carried. The leaky machine of the story sends owner names, contact data,
 * an exact position and card data; its explanations must name those fields and hold none of it.
 */
const DAY = 86_400_000;

/** The story's machine, run for two simulated days: every kind of event it sends, as it sends them. */
function leakyPayloads(deviceId: string): { model: MachineModel; envelopes: OutgoingEnvelope[] } {
  const model = new MachineModel({ deviceId, region: 'eu', fleetSeed: 17, index: 0, bootAt: Date.now() - 2 * DAY, firmware: 'leaky', usage: 'cafe' });
  const envelopes: OutgoingEnvelope[] = [];
  model.advance(Date.now() - 60_000, { emit: (_kind, envelope) => envelopes.push(envelope), suppress: () => undefined });
  const firstOf = (kind: EventKind): OutgoingEnvelope[] => envelopes.filter((e) => e.kind === kind).slice(0, 3);
  return { model, envelopes: (['brew', 'location', 'payment', 'status'] as const).flatMap(firstOf) };
}

/** Every value of a payload that is personal or identifying: its strings with a digit, a space or an @, and every number. */
function valuesOf(body: object): string[] {
  return Object.values(body).flatMap((v) => (typeof v === 'number' ? [String(v)] : typeof v === 'string' && /[0-9 @]/.test(v) ? [v] : []));
}

describe('the parts of an explanation', () => {
  it('names a field by its name only when it is shaped like one', () => {
    const json = { body: { ownerName: 'Jane Doe', 'Jane Doe': 1, '4000 0000 0000 0002': true, card4000000000: 2, nested: { deep: [1, 2] } } };
    expect(fieldNames(json).fields).toEqual(['body.ownerName', 'body.?', 'body.nested.deep[]']);
  });

  it('keeps its size bounded whatever the payload holds', () => {
    const wide = Object.fromEntries(Array.from({ length: 500 }, (_, i) => [`field_${i}`, i]));
    const explanation = explain(
      'schema_invalid',
      Array.from({ length: 100 }, () => ({ path: 'x', problem: 'not allowed' as const })),
      wide,
      true,
    );
    expect(explanation.findings).toHaveLength(24);
    expect(explanation.fields).toHaveLength(64);
    expect(explanation.truncated).toBe(true);
    expect(readExplanation(JSON.stringify(explanation))).toEqual(explanation);
    expect(readExplanation('{"not":"one"}')).toBeNull();
  });
});

describe.each(await flavours())('refusal explanations on %s', (flavour) => {
  let rig: IngestRig;

  beforeAll(async () => {
    rig = await openIngestRig(flavour);
  }, 60_000);
  afterAll(async () => {
    await rig?.close();
  });

  const explanations = async (deviceId: string): Promise<{ reason: string; kind: string | null; text: string | null }[]> =>
    sql<{ reason: string; kind: string | null; text: string | null }>(
      rig.urls.eu!,
      `SELECT "reason", "kind", "explanation" AS "text" FROM "Refusal" WHERE "deviceId" = '${deviceId}' ORDER BY "id"`,
    );

  it("explains the leaky machine's refusals by field name, without a single value of what it sent", async () => {
    const deviceId = await rig.device('eu');
    // Its owner consented to a coarse position only: the exact fix it sends says more than that.
    await rig.stores.regions.get('eu')!.appendConsent({
      deviceId,
      version: 2,
      issuedAt: new Date(Date.now() - 3 * DAY),
      actor: 'test',
      channel: 'api',
      categories: { usage: true, location: 'coarse', payment: true, diagnostics: true },
    });
    const { model, envelopes } = leakyPayloads(deviceId);
    for (const envelope of envelopes) {
      expect(await rig.send(eventTopic(deviceId, envelope.kind), envelope, new Date(Date.parse(envelope.ts) + 1_000))).toMatchObject({
        status: 'refused',
        reason: 'schema_invalid',
      });
    }
    const rows = await explanations(deviceId);
    expect(rows).toHaveLength(envelopes.length);

    const owner = model.owner!;
    const secrets = [owner.name, owner.email, owner.phone, owner.name.toUpperCase(), ...owner.name.split(' '), ...envelopes.flatMap((e) => valuesOf(e.body))];
    for (const row of rows) {
      expect(row.text, 'every refusal keeps an explanation').not.toBeNull();
      for (const secret of secrets) expect(row.text).not.toContain(secret);
      expect(row.text, 'no digit at all: no card number, phone, coordinate or amount').not.toMatch(/[0-9]/);
    }

    const byKind = new Map(rows.map((r) => [r.kind, readExplanation(r.text)!] as const));
    const findings = (kind: string): string[] => byKind.get(kind)!.findings.map((f) => `${f.path}: ${f.problem}`);
    const ownerFields = ['body.ownerName: not allowed', 'body.ownerEmail: not allowed', 'body.ownerPhone: not allowed'];
    // The owner's phone number holds twelve digits: to the card-data check it is a card number too.
    const phone = 'body.ownerPhone: looks like a card number';
    expect(findings('brew')).toEqual([...ownerFields, phone]);
    expect(findings('status')).toEqual([...ownerFields, phone]);
    expect(findings('location')).toEqual([
      ...ownerFields,
      'body.address: not allowed',
      phone,
      'body.lat: more precise than consented',
      'body.lon: more precise than consented',
      'body.accuracyM: more precise than consented',
      'body.precision: more precise than consented',
    ]);
    expect(findings('payment')).toEqual([
      ...ownerFields,
      'body.cardNumber: not allowed',
      'body.cardExpiry: not allowed',
      'body.cardHolder: not allowed',
      phone,
      'body.cardNumber: looks like a card number',
    ]);
    const payment: RefusalExplanation = byKind.get('payment')!;
    expect(payment.fields).toEqual(
      expect.arrayContaining(['v', 'id', 'kind', 'body.token', 'body.amountMinor', 'body.ownerName', 'body.cardNumber', 'body.cardHolder']),
    );
    // The live feed gets the same explanation (the stream shows its findings).
    expect(rig.committed.refusals.filter((r) => r.deviceId === deviceId).every((r) => r.explanation?.findings.length)).toBe(true);
  });

  it('quotes no value hidden in a field name or in a field the contract has', async () => {
    const deviceId = await rig.device('eu');
    const card = '4000 0000 0000 0002';
    const event = eventOf('payment', deviceId);
    const payloads = [
      { ...event, body: { ...event.body, token: card } },
      { ...event, body: { ...event.body, [card]: true, 'Jane Doe': 'x' } },
      { ...event, kind: 'Jane Doe' },
      { ...event, body: { ...event.body, amountMinor: 31_415_926_535 } },
    ];
    for (const payload of payloads) await rig.send(eventTopic(deviceId, 'payment'), payload);
    const rows = await explanations(deviceId);
    const [token, names, kind, amount] = rows.map((r) => readExplanation(r.text)!.findings.map((f) => `${f.path}: ${f.problem}`));
    expect(token).toEqual(expect.arrayContaining(['body.token: wrong format', 'body.token: looks like a card number']));
    expect(names).toEqual(['body.?: not allowed']);
    expect(kind).toEqual(['kind: not an event kind']);
    expect(amount).toEqual(['body.amountMinor: above its maximum']);
    for (const row of rows) {
      expect(row.text).not.toContain('Jane');
      expect(row.text).not.toMatch(/[0-9]/);
    }
  });

  it('says which consent was missing, and when', async () => {
    const deviceId = await rig.device('eu');
    const store = rig.stores.regions.get('eu')!;
    // Brews were consented until a minute ago, then withdrawn; payments never.
    await store.appendConsent({
      deviceId,
      version: 2,
      issuedAt: new Date(Date.now() - 60_000),
      actor: 'test',
      channel: 'api',
      categories: { usage: false, location: 'none', payment: false, diagnostics: true },
    });
    const earlier = new Date(Date.now() - 120_000);
    await rig.send(eventTopic(deviceId, 'brew'), eventOf('brew', deviceId, earlier, 1));
    await rig.send(eventTopic(deviceId, 'payment'), eventOf('payment', deviceId, new Date(), 2));
    await rig.send(eventTopic(deviceId, 'location'), {
      ...eventOf('location', deviceId, new Date(), 3),
      body: { precision: 'exact', lat: 1, lon: 2, accuracyM: 3, extra: 1 },
    });
    const rows = (await explanations(deviceId)).map((r) => ({ reason: r.reason, findings: readExplanation(r.text)!.findings }));
    expect(rows).toEqual([
      { reason: 'not_consented', findings: [{ path: 'consent.usage', problem: 'withdrawn since the event' }] },
      { reason: 'not_consented', findings: [{ path: 'consent.payment', problem: 'not consented' }] },
      {
        reason: 'schema_invalid',
        findings: [
          { path: 'body.extra', problem: 'not allowed' },
          { path: 'body', problem: 'location not consented' },
        ],
      },
    ]);
  });

  it('explains a payload nested far deeper than any contract field without running out of stack', async () => {
    const deviceId = await rig.device('eu');
    const deep = `{"v":1,"body":${'['.repeat(100_000)}${']'.repeat(100_000)}}`;
    expect(await rig.send(eventTopic(deviceId), deep)).toMatchObject({ status: 'refused', reason: 'schema_invalid' });
    const [row] = await explanations(deviceId);
    expect(readExplanation(row!.text)?.fields).toEqual(['v', 'body[]']);
  });

  it('explains refusals that never read the payload, or could not, without field names', async () => {
    expect(explain('unknown_device', undefined, undefined, false)).toEqual({
      findings: [{ path: 'topic.deviceId', problem: 'not registered' }],
      fields: null,
      truncated: false,
    });
    const deviceId = await rig.device('eu');
    await rig.send(eventTopic(deviceId), '{"ownerName": "Jane Doe", broken');
    const [row] = await explanations(deviceId);
    expect(readExplanation(row!.text)).toEqual({ findings: [{ path: 'payload', problem: 'not JSON' }], fields: null, truncated: false });
  });
});
