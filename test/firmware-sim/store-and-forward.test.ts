import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { startFleet, type Fleet, type MachineIdentity } from '../../firmware-sim/fleet.ts';
import { topics } from '../../schema/topics.ts';
import { startTestBroker, waitFor, type ReceivedEvent, type TestBroker } from './aedes-server.ts';
import { ALL_CONSENT, consentFor, HOUR, MONDAY } from './helpers.ts';

const silent = pino({ level: 'silent' });

/** Per device: the sequence numbers that never reached any broker instance, up to the highest one that did. */
function missingSeqs(events: readonly ReceivedEvent[]): Map<string, number[]> {
  const seen = new Map<string, Set<number>>();
  for (const e of events) (seen.get(e.deviceId) ?? seen.set(e.deviceId, new Set()).get(e.deviceId)!).add(e.seq);
  const missing = new Map<string, number[]>();
  for (const [deviceId, seqs] of seen) {
    const gaps: number[] = [];
    for (let s = 0; s <= Math.max(...seqs); s++) if (!seqs.has(s)) gaps.push(s);
    missing.set(deviceId, gaps);
  }
  return missing;
}

describe('store-and-forward across a real broker restart', () => {
  const brokers: TestBroker[] = [];
  let fleet: Fleet | undefined;
  afterEach(async () => {
    await fleet?.stop();
    fleet = undefined;
    for (const b of brokers.splice(0)) await b.close().catch(() => {});
  });

  async function outage(machines: MachineIdentity[], offlineBufferSize: number, bufferedAtLeast: number): Promise<ReceivedEvent[]> {
    const first = await startTestBroker();
    brokers.push(first);
    for (const m of machines) await first.publish(topics.consent(m.deviceId), JSON.stringify(consentFor(m.deviceId, ALL_CONSENT)), true);
    // Monday 06:00 UTC, an hour per second: European cafes are opening, so events keep coming.
    const running = await startFleet({ brokerUrl: first.url, machines, seed: 5, speed: 3_600, startAt: MONDAY + 6 * HOUR, offlineBufferSize }, silent);
    fleet = running;
    await running.whenPublished(20, 10_000);

    await first.close();
    await waitFor(() => running.stats().connected === 0, 10_000, 'all machines offline');
    await waitFor(() => running.stats().buffered + running.stats().dropped >= bufferedAtLeast, 15_000, 'events buffered while offline');

    // The same broker comes back on the same port, with its memory (sessions, retained records) gone.
    const second = await startTestBroker(first.port);
    brokers.push(second);
    await waitFor(() => running.stats().connected === machines.length, 20_000, 'all machines back');
    await waitFor(() => running.stats().buffered === 0, 10_000, 'offline buffers flushed');
    await running.whenPublished(running.stats().published + 10, 10_000);
    await running.stop();
    return [...first.events, ...second.events];
  }

  it('sends everything kept within the buffer size, in order, after the broker comes back', async () => {
    const machines: MachineIdentity[] = [0, 1, 2].map((i) => ({ deviceId: `cm-snf-ok-${i}-${process.pid}`, secret: 'x', region: 'eu', usage: 'cafe' }));
    const events = await outage(machines, 10_000, 30);
    const stats = fleet!.stats();
    expect(stats.dropped).toBe(0);
    expect(stats.failed).toBe(0);
    // Every encoded byte that waited was handed back out: nothing stays behind in the buffers.
    expect(stats).toMatchObject({ buffered: 0, bufferedBytes: 0 });
    for (const m of machines) expect(missingSeqs(events).get(m.deviceId)).toEqual([]);
    // What the second broker got first from each machine arrives in sequence order (a resend may repeat one).
    const second = brokers[1]!.events;
    for (const m of machines) {
      const seqs = second.filter((e) => e.deviceId === m.deviceId).map((e) => e.seq);
      const firstTimes = seqs.filter((s, i) => seqs.indexOf(s) === i);
      expect(firstTimes).toEqual([...firstTimes].sort((a, b) => a - b));
    }
  });

  it('drops only the oldest events beyond the buffer size, and counts exactly those', async () => {
    const machines: MachineIdentity[] = [{ deviceId: `cm-snf-full-${process.pid}`, secret: 'x', region: 'eu', usage: 'cafe' }];
    const events = await outage(machines, 5, 20);
    const stats = fleet!.stats();
    expect(stats.dropped).toBeGreaterThanOrEqual(15);
    const missing = missingSeqs(events).get(machines[0]!.deviceId)!;
    expect(missing.length).toBe(stats.dropped);
    // The losses form one block: the oldest of what was queued; the newest five made it.
    expect(missing.at(-1)! - missing[0]!).toBe(missing.length - 1);
  });
});
