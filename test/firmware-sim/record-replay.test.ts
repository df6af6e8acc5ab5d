import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFleet } from '../../firmware-sim/fleet.ts';
import { replayRun } from '../../firmware-sim/replay.ts';
import { recordedEventSchema } from '../../firmware-sim/run-recording.ts';
import { topics } from '../../schema/topics.ts';
import { startTestBroker, type TestBroker } from './aedes-server.ts';
import { ALL_CONSENT, consentFor, HOUR, MONDAY } from './helpers.ts';

const silent = pino({ level: 'silent' });
const byDevice = (events: ReadonlyArray<{ deviceId: string; payload: string }>): Map<string, string[]> => {
  const out = new Map<string, string[]>();
  for (const e of events) (out.get(e.deviceId) ?? out.set(e.deviceId, []).get(e.deviceId)!).push(e.payload);
  return out;
};

describe('record a run to JSON Lines and replay it against another broker', () => {
  let dir: string;
  const brokers: TestBroker[] = [];
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'brewtel-replay-'));
  });
  afterAll(async () => {
    for (const b of brokers) await b.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('replays every recorded payload byte for byte, per machine in order', async () => {
    const [original, other] = [await startTestBroker(), await startTestBroker()];
    brokers.push(original, other);
    const file = join(dir, 'run.jsonl');
    const machines = [0, 1, 2].map((i) => ({ deviceId: `cm-replay-${i}-${process.pid}`, secret: 'x', region: 'eu' as const, usage: 'cafe' as const }));
    for (const m of machines) await original.publish(topics.consent(m.deviceId), JSON.stringify(consentFor(m.deviceId, ALL_CONSENT)), true);
    const fleet = await startFleet(
      { brokerUrl: original.url, machines, seed: 4, speed: 3_600, startAt: MONDAY + 6.5 * HOUR, recordTo: file, faults: { duplicate: 0.05, malformed: 0.05 } },
      silent,
    );
    await fleet.whenPublished(100, 10_000);
    await fleet.stop();
    expect((await stat(file)).mode & 0o777).toBe(0o600);

    const recorded = (await readFile(file, 'utf8'))
      .trim()
      .split('\n')
      .map((line) => recordedEventSchema.parse(JSON.parse(line)));
    expect(recorded.length).toBeGreaterThanOrEqual(100);
    // Without an outage the original broker got exactly what was recorded.
    expect(byDevice(original.events)).toEqual(byDevice(recorded));

    // A stray line in the file is skipped and counted, not fatal.
    await writeFile(file, `${await readFile(file, 'utf8')}not a recorded event\n`);
    const result = await replayRun({ brokerUrl: other.url, file, pace: 0, offlineBufferSize: 100_000, drainTimeoutMs: 10_000 }, silent);
    expect(result.skippedLines).toBe(1);
    expect(result.machines).toBe(machines.length);
    expect(result.published).toBe(recorded.length);
    expect(result.failed + result.pending + result.buffered + result.dropped).toBe(0);
    expect(byDevice(other.events)).toEqual(byDevice(recorded));
  });

  it('keeps the recorded pace unless told otherwise', async () => {
    const b = await startTestBroker();
    brokers.push(b);
    const file = join(dir, 'paced.jsonl');
    const deviceId = `cm-replay-paced-${process.pid}`;
    const line = (t: number, seq: number): string => JSON.stringify({ t, deviceId, kind: 'status', payload: JSON.stringify({ seq }) });
    await writeFile(file, `${line(0, 0)}\n${line(300, 1)}\n`);
    const started = performance.now();
    const result = await replayRun({ brokerUrl: b.url, file, pace: 1, offlineBufferSize: 10, drainTimeoutMs: 5_000 }, silent);
    expect(result.published).toBe(2);
    expect(performance.now() - started).toBeGreaterThanOrEqual(290);
  });
});
