import { describe, expect, it } from 'vitest';
import type { EventBody, MachinePhase } from '../../schema/events.ts';
import { MACHINE_PHASES } from '../../schema/events.ts';
import * as phases from '../../firmware-sim/machine-phases.ts';
import { MachineModel } from '../../firmware-sim/machine-model.ts';
import { createManualClock } from '../../firmware-sim/sim-clock.ts';
import { localTime } from '../../firmware-sim/usage-profiles.ts';
import { ALL_CONSENT, CollectingSink, consentFor, HOUR, MONDAY, runMachine } from './helpers.ts';

const { heatingMs, rinseMs, descaleMs } = phases.PHASE_TIMINGS;
const cappuccino: EventBody<'brew'> = {
  recipe: 'cappuccino',
  doseG: 18,
  waterMl: 40,
  milkMl: 110,
  waterTempC: 92,
  pressureBar: 9,
  durationMs: 55_000,
  outcome: 'ok',
};
const hotWater: EventBody<'brew'> = {
  recipe: 'hot_water',
  doseG: 0,
  waterMl: 250,
  milkMl: 0,
  waterTempC: 90,
  pressureBar: 0.5,
  durationMs: 25_000,
  outcome: 'ok',
};

/** The phase at each of the given offsets from `t0`. */
const sample = (state: phases.PhaseState, t0: number, offsets: number[]): MachinePhase[] => offsets.map((ms) => phases.phaseAt(state, t0 + ms));

describe('machine phases (pure state machine)', () => {
  const t0 = MONDAY;

  it('is off until switched on, heats up, then waits', () => {
    expect(phases.phaseAt(phases.OFF, t0)).toBe('off');
    const on = phases.powerOn(phases.OFF, t0);
    expect(sample(on, t0, [0, heatingMs - 1, heatingMs])).toEqual(['heating', 'heating', 'idle']);
    expect(phases.powerOn(on, t0 + 1000)).toBe(on);
  });

  it('runs a cappuccino through grinding, brewing, frothing and a rinse', () => {
    const idle = phases.powerOn(phases.OFF, t0 - heatingMs);
    const planned = phases.startBrew(idle, t0, cappuccino)!;
    expect(planned.startAt).toBe(t0);
    expect(planned.doneAt).toBe(t0 + cappuccino.durationMs);
    const spans = planned.state.plan.filter((s) => s.to > t0);
    expect(spans.map((s) => s.phase)).toEqual(['grinding', 'brewing', 'frothing', 'rinsing']);
    expect(phases.phaseAt(planned.state, planned.doneAt + rinseMs - 1)).toBe('rinsing');
    expect(phases.phaseAt(planned.state, planned.doneAt + rinseMs)).toBe('idle');
  });

  it('dispenses hot water without grinding or rinsing', () => {
    const idle = phases.powerOn(phases.OFF, t0 - heatingMs);
    const planned = phases.startBrew(idle, t0, hotWater)!;
    expect(sample(planned.state, t0, [0, 24_999, 25_000])).toEqual(['dispensing', 'dispensing', 'idle']);
  });

  it('a customer arriving while the machine heats waits for it', () => {
    const heating = phases.powerOn(phases.OFF, t0);
    const planned = phases.startBrew(heating, t0 + 10_000, cappuccino)!;
    expect(planned.startAt).toBe(t0 + heatingMs);
    expect(phases.phaseAt(planned.state, t0 + 10_000)).toBe('heating');
    expect(phases.phaseAt(planned.state, t0 + heatingMs)).toBe('grinding');
  });

  it('brews nothing when off or in fault', () => {
    expect(phases.startBrew(phases.OFF, t0, cappuccino)).toBeNull();
    expect(phases.startBrew(phases.fault(), t0, cappuccino)).toBeNull();
  });

  it('switching off mid-brew finishes the cup, rinses, then goes dark', () => {
    const idle = phases.powerOn(phases.OFF, t0 - heatingMs);
    const { state, doneAt } = phases.startBrew(idle, t0, cappuccino)!;
    const off = phases.powerOff(state, t0 + 5_000);
    expect(phases.phaseAt(off, t0 + 5_000)).toBe('grinding');
    expect(phases.phaseAt(off, doneAt + rinseMs)).toBe('rinsing');
    expect(phases.phaseAt(off, doneAt + 2 * rinseMs)).toBe('off');
  });

  it('a fault stops everything; service clears it, descaling first when due', () => {
    const idle = phases.powerOn(phases.OFF, t0 - heatingMs);
    const { state } = phases.startBrew(idle, t0, cappuccino)!;
    const faulted = phases.fault();
    expect(phases.phaseAt(faulted, t0 + 1)).toBe('fault');
    expect(phases.powerOff(faulted, t0 + 2)).toBe(faulted);
    const serviced = phases.recover(faulted, t0 + HOUR, true);
    expect(sample(serviced, t0 + HOUR, [0, descaleMs - 1, descaleMs])).toEqual(['descaling', 'descaling', 'idle']);
    expect(phases.phaseAt(phases.recover(state, t0, false), t0)).toBe('grinding');
  });

  it('a reboot heats up again, stays off out of hours and keeps a blocking fault', () => {
    const idle = phases.powerOn(phases.OFF, t0 - heatingMs);
    expect(phases.phaseAt(phases.reboot(idle, t0, true), t0)).toBe('heating');
    expect(phases.phaseAt(phases.reboot(idle, t0, false), t0)).toBe('off');
    expect(phases.phaseAt(phases.reboot(phases.fault(), t0, true), t0)).toBe('fault');
  });

  it('the boiler reads cold when off, climbs while heating and is hotter for steam', () => {
    const on = phases.powerOn(phases.OFF, t0);
    const cold = phases.boilerTargetC(phases.OFF, t0);
    const half = phases.boilerTargetC(on, t0 + heatingMs / 2);
    const hot = phases.boilerTargetC(on, t0 + heatingMs);
    expect(cold).toBeLessThan(half);
    expect(half).toBeLessThan(hot);
    const { state } = phases.startBrew(phases.powerOn(phases.OFF, t0 - heatingMs), t0, cappuccino)!;
    expect(phases.boilerTargetC(state, t0 + cappuccino.durationMs - 1)).toBeGreaterThan(hot);
  });
});

describe('machine phases in the model, driven by the simulated clock', () => {
  it('shows each phase of a brew as the clock moves through it', () => {
    const clock = createManualClock(MONDAY + 7 * HOUR);
    const model = new MachineModel({ deviceId: 'cm-phase-clock', region: 'eu', fleetSeed: 3, index: 0, bootAt: clock.now(), usage: 'cafe' });
    const sink = new CollectingSink();
    model.applyConsent(consentFor('cm-phase-clock', ALL_CONSENT), clock.now());
    const seen = new Set<MachinePhase>();
    for (let i = 0; i < 4 * 3600; i++) {
      clock.advance(1000);
      model.advance(clock.now(), sink);
      seen.add(model.inspect().phase);
    }
    for (const phase of ['heating', 'idle', 'grinding', 'brewing', 'frothing', 'rinsing'] as const) expect(seen).toContain(phase);
    expect(sink.ofKind('brew').length).toBeGreaterThan(20);
  });

  it('status events report the phase: off at night, heating when switched on, never anything outside the list', () => {
    const { model, sink } = runMachine({ usage: 'home' }, 48);
    const statuses = sink.ofKind('status').map((e) => ({ at: Date.parse(e.ts), phase: (e.body as EventBody<'status'>).phase }));
    for (const s of statuses) expect(MACHINE_PHASES).toContain(s.phase);
    const offset = model.spot.city.utcOffsetHours;
    expect(statuses.filter((s) => localTime(s.at, offset).hour === 3).every((s) => s.phase === 'off')).toBe(true);
    expect(statuses.some((s) => s.phase === 'heating')).toBe(true);
  });
});
