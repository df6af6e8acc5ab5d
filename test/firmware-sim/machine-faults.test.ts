import { describe, expect, it } from 'vitest';
import { parseCli } from '../../firmware-sim/cli-args.ts';
import { machineFaultRatesSchema } from '../../firmware-sim/machine-faults.ts';
import { MachineModel } from '../../firmware-sim/machine-model.ts';
import type { EventBody } from '../../schema/events.ts';
import { ALL_CONSENT, CollectingSink, consentFor, HOUR, MONDAY } from './helpers.ts';

type Fault = EventBody<'fault'>;
type Status = EventBody<'status'>;

/** A cafe machine with the given fault rates, run for `hours` from Monday 06:00 UTC. */
function run(rates: object, hours: number, index = 0): CollectingSink {
  const start = MONDAY + 6 * HOUR;
  const model = new MachineModel({
    deviceId: 'cm-fault-rates',
    region: 'eu',
    fleetSeed: 11,
    index,
    bootAt: start,
    usage: 'cafe',
    faultRates: machineFaultRatesSchema.parse(rates),
  });
  const sink = new CollectingSink();
  model.applyConsent(consentFor('cm-fault-rates', ALL_CONSENT), start);
  for (let t = start; t < start + hours * HOUR; t += 5 * 60_000) model.advance(t + 5 * 60_000, sink);
  return sink;
}

const faults = (sink: CollectingSink): Fault[] => sink.ofKind('fault').map((e) => e.body as Fault);

describe('machine faults at configurable rates', () => {
  it('a grinder that always jams shows bean_jam in fault and status events until a service clears it', () => {
    const sink = run({ beanJam: 1, overheat: 0 }, 12);
    const raised = sink.events.findIndex((e) => e.kind === 'fault' && (e.body as Fault).code === 'bean_jam' && !(e.body as Fault).cleared);
    expect(raised).toBeGreaterThanOrEqual(0);
    expect(sink.events.slice(raised).find((e) => e.kind === 'status')!.body).toMatchObject({ phase: 'fault' });
    expect(faults(sink).some((f) => f.code === 'bean_jam' && f.cleared)).toBe(true);
    // Only hot water, which does not grind, can still be made between jams.
    for (const brew of sink.ofKind('brew')) expect((brew.body as EventBody<'brew'>).recipe).toBe('hot_water');
  });

  it('an overheat reports a boiler far above brewing temperature', () => {
    const sink = run({ beanJam: 0, overheat: 1 }, 4);
    const raised = sink.events.findIndex((e) => e.kind === 'fault' && (e.body as Fault).code === 'overheat' && !(e.body as Fault).cleared);
    expect(raised).toBeGreaterThanOrEqual(0);
    const status = sink.events.slice(raised).find((e) => e.kind === 'status')!.body as Status;
    expect(status.phase).toBe('fault');
    expect(status.boilerTempC).toBeGreaterThan(130);
    expect(sink.ofKind('brew')).toHaveLength(0);
  });

  it('at rate 0 neither happens, and the rates change nothing else the machine does', () => {
    const none = run({ beanJam: 0, overheat: 0 }, 48, 2);
    expect(faults(none).some((f) => f.code === 'bean_jam' || f.code === 'overheat')).toBe(false);
    // A different rate that happens to trip nothing leaves every other event exactly as it was.
    const rare = run({ beanJam: 1e-9, overheat: 1e-9 }, 48, 2);
    expect(rare.events).toEqual(none.events);
  });

  it('are set from the CLI and refused out of range', () => {
    expect(parseCli(['--broker', 'mqtt://h', '--credentials', 'f', '--machine-faults', 'beanJam=0.01,overheat=0.002'], {})).toMatchObject({
      config: { machineFaults: { beanJam: 0.01, overheat: 0.002 } },
    });
    expect(parseCli(['--broker', 'mqtt://h', '--credentials', 'f', '--machine-faults', 'beanJam=2'], {})).toMatchObject({
      error: expect.stringMatching(/^--machine-faults/),
    });
    expect(parseCli(['--broker', 'mqtt://h', '--credentials', 'f', '--machine-faults', 'leak=0.1'], {})).toMatchObject({
      error: expect.stringMatching(/^--machine-faults/),
    });
  });
});
