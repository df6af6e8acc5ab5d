import { randomUUID } from 'node:crypto';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { startFleet, type Fleet, type MachineIdentity } from '../../firmware-sim/fleet.ts';
import { commandResultSchema, type CommandResult } from '../../schema/commands.ts';
import type { EventEnvelope } from '../../schema/events.ts';
import { topics } from '../../schema/topics.ts';
import { startTestBroker, waitFor, type TestBroker } from './aedes-server.ts';
import { ALL_CONSENT, consentFor, HOUR, MONDAY } from './helpers.ts';

const silent = pino({ level: 'silent' });
const command = (args: object, id = randomUUID()): string => JSON.stringify({ v: 1, id, issuedAt: new Date().toISOString(), args });
const resultOf = (broker: TestBroker, commandId: string): CommandResult[] =>
  broker.results.map((r) => commandResultSchema.parse(r.body)).filter((r) => r.commandId === commandId);
const envelopes = (broker: TestBroker, deviceId: string, from = 0): EventEnvelope[] =>
  broker.events
    .slice(from)
    .filter((e) => e.deviceId === deviceId)
    .map((e) => JSON.parse(e.payload) as EventEnvelope);

describe('commands on cmd/{name}, answered by the machine over a real broker', () => {
  let broker: TestBroker | undefined;
  let fleet: Fleet | undefined;
  afterEach(async () => {
    await fleet?.stop();
    await broker?.close();
    fleet = undefined;
    broker = undefined;
  });

  /** One machine in a European cafe at 06:30 UTC: open, busy, and not due to switch off for hours. */
  async function oneMachine(suffix: string, identity: Partial<MachineIdentity> = {}): Promise<{ b: TestBroker; f: Fleet; deviceId: string }> {
    const b = await startTestBroker();
    broker = b;
    const deviceId = `cm-cmd-${suffix}-${process.pid}`;
    await b.publish(topics.consent(deviceId), JSON.stringify(consentFor(deviceId, ALL_CONSENT)), true);
    const f = await startFleet(
      {
        brokerUrl: b.url,
        machines: [{ deviceId, secret: 'x', region: 'eu', usage: 'cafe', ...identity }],
        seed: 9,
        speed: 3_600,
        startAt: MONDAY + 6.5 * HOUR,
      },
      silent,
    );
    fleet = f;
    await waitFor(() => b.listening.has(deviceId), 10_000, 'command subscription');
    await f.whenPublished(5, 10_000);
    return { b, f, deviceId };
  }

  it('set-recipe changes how the machine brews that recipe from then on', async () => {
    const { b, f, deviceId } = await oneMachine('recipe');
    const espressoDoses = (from: number): number[] =>
      envelopes(b, deviceId, from).flatMap((e) => (e.kind === 'brew' && e.body.recipe === 'espresso' && e.body.outcome === 'ok' ? [e.body.doseG] : []));
    const id = randomUUID();
    await b.publish(topics.command(deviceId, 'set-recipe'), command({ recipe: 'espresso', doseG: 27 }, id));
    await waitFor(() => resultOf(b, id).length === 1, 10_000, 'command answered');
    expect(resultOf(b, id)[0]).toMatchObject({ name: 'set-recipe', status: 'ok' });
    expect(f.stats().commandOutcomes.applied).toBe(1);
    const mark = b.events.length;
    await waitFor(() => espressoDoses(mark).length >= 8, 20_000, 'espressos after the change');
    // One brew may have started before the command landed; every later one is dosed around 27 g.
    expect(
      espressoDoses(mark)
        .slice(1)
        .every((dose) => dose >= 23),
    ).toBe(true);
    const after = espressoDoses(mark).slice(1);
    expect(after.reduce((a, b) => a + b, 0) / after.length).toBeGreaterThan(25);
  });

  it('reboot takes the machine off the network and back, heating up again', async () => {
    const { b, f, deviceId } = await oneMachine('reboot');
    const mark = b.events.length;
    const id = randomUUID();
    await b.publish(topics.command(deviceId, 'reboot'), command({}, id));
    await waitFor(() => (b.connects.get(deviceId) ?? 0) >= 2 && f.stats().connected === 1, 10_000, 'reconnect after reboot');
    // The answer went out before the link went down, exactly once.
    expect(resultOf(b, id)).toEqual([expect.objectContaining({ name: 'reboot', status: 'ok' })]);
    await waitFor(() => envelopes(b, deviceId, mark).some((e) => e.kind === 'status' && e.body.phase === 'heating'), 10_000, 'heating status');
    expect(f.stats().commandOutcomes.applied).toBe(1);
    const seqs = envelopes(b, deviceId).map((e) => e.seq);
    // Sequence numbers carry on across the reboot; nothing starts again from zero.
    expect(seqs.filter((s) => s === 0)).toHaveLength(1);
  });

  it('apply-consent takes a newer record at once; stale, repeated, malformed and unknown commands are refused and counted', async () => {
    const { b, f, deviceId } = await oneMachine('consent');
    const record = consentFor(deviceId, { ...ALL_CONSENT, location: 'none', payment: false }, 2);
    const [id, staleId, badId, unknownId] = [randomUUID(), randomUUID(), randomUUID(), randomUUID()];
    await b.publish(topics.command(deviceId, 'apply-consent'), command({ record }, id));
    await b.publish(topics.command(deviceId, 'apply-consent'), command({ record }, id));
    await b.publish(topics.command(deviceId, 'apply-consent'), command({ record: consentFor(deviceId, ALL_CONSENT, 1) }, staleId));
    await b.publish(topics.command(deviceId, 'set-recipe'), '{"v":1,"args":');
    await b.publish(topics.command(deviceId, 'set-recipe'), command({ recipe: 'espresso', doseG: 99 }, badId));
    await b.publish(topics.command(deviceId, 'self-destruct'), command({}, unknownId));
    await waitFor(() => f.stats().commands === 6 && b.results.length === 5, 10_000, 'all commands received and answered');
    expect(f.stats().commandOutcomes).toEqual({ applied: 1, duplicate: 1, stale: 1, command_unknown: 1, command_malformed: 2, failed: 0 });
    // Every command with a readable id is answered; the truncated one has none and gets no answer.
    expect(f.stats().commandReplies).toBe(5);
    expect(resultOf(b, id).map((r) => [r.status, r.code])).toEqual([
      ['ok', undefined],
      ['ok', 'duplicate'],
    ]);
    expect(resultOf(b, staleId)).toEqual([expect.objectContaining({ status: 'rejected', code: 'consent_stale' })]);
    expect(resultOf(b, badId)).toEqual([expect.objectContaining({ name: 'set-recipe', status: 'rejected', code: 'command_malformed' })]);
    expect(resultOf(b, unknownId)).toEqual([expect.objectContaining({ name: 'self-destruct', status: 'rejected', code: 'command_unknown' })]);
    const mark = b.events.length;
    await waitFor(() => envelopes(b, deviceId, mark).length >= 30, 10_000, 'events after the change');
    const later = envelopes(b, deviceId, mark).slice(5);
    expect(later.every((e) => e.consentVersion === 2)).toBe(true);
    expect(later.some((e) => e.kind === 'location' || e.kind === 'payment')).toBe(false);
  });

  it('wipe-local-data erases the owner: even the leaky firmware has nothing left to leak', async () => {
    const { b, f, deviceId } = await oneMachine('wipe', { profile: 'leaky' });
    expect(envelopes(b, deviceId).some((e) => 'ownerName' in e.body)).toBe(true);
    await b.publish(topics.command(deviceId, 'wipe-local-data'), command({}));
    await waitFor(() => f.stats().commandOutcomes.applied === 1, 10_000, 'command applied');
    const mark = b.events.length;
    await waitFor(() => envelopes(b, deviceId, mark).length >= 30, 10_000, 'events after the wipe');
    const later = envelopes(b, deviceId, mark).slice(5);
    expect(later.some((e) => 'ownerName' in e.body || 'cardHolder' in e.body)).toBe(false);
  });
});
