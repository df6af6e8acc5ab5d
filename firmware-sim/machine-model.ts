import { z } from 'zod';
import type { RecipeSettings } from '../schema/commands.ts';
import type { ConsentRecord } from '../schema/consent.ts';
import type { EventBody, EventKind, MachinePhase, Recipe } from '../schema/events.ts';
import type { RegionId } from '../schema/regions.ts';
import { service, consume, isLow, partlyUsedConsumables, shortageFor, type Consumables } from './consumables.ts';
import { acceptConsent, decideAtEdge, type SuppressReason } from './edge-consent.ts';
import { createEnvelopeFactory, type OutgoingEnvelope } from './envelope.ts';
import { leakyBody, type LeakContext } from './leaky-firmware.ts';
import { DEFAULT_MACHINE_FAULT_RATES, OVERHEAT_C, spontaneousFault, type MachineFaultRates } from './machine-faults.ts';
import { marketOf, type Market } from './markets.ts';
import { generateOwner, type Owner } from './owner.ts';
import { paymentFor, paymentToken } from './payments.ts';
import { fixOf, placeInCity, type Spot } from './placement.ts';
import * as phases from './machine-phases.ts';
import { nextPowerChange, shouldBeOn } from './power-schedule.ts';
import { chance, createRng, deriveSeed, intBetween, normal, pick, uniform, weighted, type Rng } from './random.ts';
import { brewValues, type RecipeAdjustment } from './recipes.ts';
import { USAGE_PROFILES, nextArrival, usageProfileNameSchema, type UsageProfile, type UsageProfileName } from './usage-profiles.ts';

export const firmwareProfileSchema = z.enum(['compliant', 'leaky']);
export type FirmwareProfile = z.infer<typeof firmwareProfileSchema>;

type FaultCode = EventBody<'fault'>['code'];
type BrewBody = EventBody<'brew'>;

export interface MachineSpec {
  deviceId: string;
  region: RegionId;
  fleetSeed: number;
  /** Position in the fleet; with the fleet seed it fixes the machine's behaviour. */
  index: number;
  /** Simulated instant the machine powers on. */
  bootAt: number;
  usage?: UsageProfileName;
  firmware?: FirmwareProfile;
  /** Chances per brew of a bean jam or an overheat; realistic defaults when left out. */
  faultRates?: MachineFaultRates;
}

/** Where the model's output goes: the connection in a fleet, an array in tests. */
export interface EventSink {
  emit(kind: EventKind, envelope: OutgoingEnvelope): void;
  suppress(kind: EventKind, reason: SuppressReason): void;
}

const MINUTE_MS = 60_000;
const HOUR_MS = 60 * MINUTE_MS;
export const STATUS_EVERY_MS = 30 * MINUTE_MS;
export const LOCATION_EVERY_MS = 6 * HOUR_MS;
const PROACTIVE_REFILL_DELAY_MIN: readonly [number, number] = [1, 15];

/** Usage mix of a fleet when nobody says otherwise: mostly homes, some offices, a few cafes. */
export const defaultUsageFor = (fleetSeed: number, index: number): UsageProfileName =>
  weighted(createRng(deriveSeed(fleetSeed, index, 'usage')), { home: 55, office: 30, cafe: 15 });

/**
 * One coffee machine as a pure, socket-free model. Time only moves when `advance` is called with a
 * simulated instant; every random choice comes from streams seeded by (fleet seed, index), so the same
 * spec and the same calls produce the same events. Behaviour (brews, payments, faults) draws from its
 * own stream, sensors from another, so when consent arrives never changes what the machine brews.
 */
export class MachineModel {
  readonly deviceId: string;
  readonly usage: UsageProfileName;
  readonly firmware: FirmwareProfile;
  readonly spot: Spot;

  private readonly profile: UsageProfile;
  private readonly market: Market;
  private readonly behaviour: Rng;
  private readonly sensors: Rng;
  private readonly leakRng: Rng;
  private readonly faultRng: Rng;
  private readonly faultRates: MachineFaultRates;
  private readonly envelope: ReturnType<typeof createEnvelopeFactory>;
  private readonly subscriptionToken: string;
  private readonly leak: LeakContext;
  private readonly consumables: Consumables;
  /** Made at the first fault and dropped once serviced: most machines have none most of the time. */
  private activeFaults: Map<FaultCode, 'warning' | 'error'> | null = null;
  private consent: ConsentRecord | null = null;
  private recipeSettings: Partial<Record<Recipe, RecipeAdjustment>> = {};
  private phases: phases.PhaseState = phases.OFF;
  private pendingBrew: BrewBody | null = null;
  private brewStartedAt = 0;
  private processedUntil: number;

  private nextBrewAt: number;
  private brewDoneAt = Infinity;
  private brewRateFactor = 1;
  private nextStatusAt: number;
  private nextLocationAt: number;
  private nextPowerAt: number;
  private serviceAt = Infinity;

  constructor(spec: MachineSpec) {
    const seedOf = (purpose: string): number => deriveSeed(spec.fleetSeed, spec.index, purpose);
    this.deviceId = spec.deviceId;
    this.usage = usageProfileNameSchema.parse(spec.usage ?? defaultUsageFor(spec.fleetSeed, spec.index));
    this.firmware = spec.firmware ?? 'compliant';
    this.profile = USAGE_PROFILES[this.usage];
    this.market = marketOf(spec.region);
    this.behaviour = createRng(seedOf('behaviour'));
    this.sensors = createRng(seedOf('sensors'));
    this.leakRng = createRng(seedOf('leak'));
    this.faultRng = createRng(seedOf('machine-faults'));
    this.faultRates = spec.faultRates ?? DEFAULT_MACHINE_FAULT_RATES;
    // Ids also mix in the device id and the boot instant: two fleets from one seed, or two runs of one
    // machine, must never mint the same event ids. The boot instant matters because some events fall
    // on local hour boundaries (power on), the same instant in every run: two runs that booted a few
    // seconds apart drew the same id for them, and ingest took the second for a redelivered duplicate.
    this.envelope = createEnvelopeFactory(spec.deviceId, createRng(deriveSeed(spec.fleetSeed, spec.index, spec.deviceId, spec.bootAt, 'ids')));

    const setup = createRng(seedOf('setup'));
    this.spot = placeInCity(setup, pick(setup, this.market.cities));
    const owner = generateOwner(setup, spec.region);
    this.subscriptionToken = paymentToken(setup);
    this.leak = { owner, exactLat: this.spot.lat, exactLon: this.spot.lon, street: `${intBetween(setup, 1, 120)} Main Street, ${this.spot.city.name}` };
    this.consumables = partlyUsedConsumables(setup, this.profile.capacities);

    this.processedUntil = spec.bootAt;
    this.nextStatusAt = spec.bootAt;
    this.nextLocationAt = spec.bootAt;
    if (this.shouldBeOn(spec.bootAt)) this.phases = phases.powerOn(phases.OFF, spec.bootAt);
    this.nextPowerAt = this.nextPowerChange(spec.bootAt);
    this.nextBrewAt = this.nextArrival(spec.bootAt);
  }

  /** The owner's name and contact data: kept on the device only, gone after a wipe. */
  get owner(): Owner | null {
    return this.leak.owner;
  }

  get consentVersion(): number {
    return this.consent?.version ?? 0;
  }

  /** The simulated instant of the next thing this machine will do. */
  nextDueAt(): number {
    return Math.min(this.serviceAt, this.brewDoneAt, this.nextBrewAt, this.nextPowerAt, this.nextStatusAt, this.nextLocationAt);
  }

  /** Runs everything due up to and including `until`, in time order, each event stamped with its own instant. */
  advance(until: number, sink: EventSink): void {
    for (let at = this.nextDueAt(); at <= until; at = this.nextDueAt()) {
      this.processedUntil = at;
      if (this.serviceAt === at) this.serviceVisit(at, sink);
      else if (this.brewDoneAt === at) this.finishBrew(at, sink);
      else if (this.nextBrewAt === at) this.startBrew(at, sink);
      else if (this.nextPowerAt === at) this.switchPower(at, sink);
      else if (this.nextStatusAt === at) this.reportStatus(at, sink);
      else this.reportLocation(at, sink);
    }
    this.processedUntil = Math.max(this.processedUntil, until);
  }

  /**
   * Takes a newer consent record. The first record, or a change of location precision, makes the
   * machine report its state and place right away instead of waiting for the next periodic report.
   */
  applyConsent(record: ConsentRecord, at: number): boolean {
    if (!acceptConsent(this.consent, record, this.deviceId)) return false;
    const from = Math.max(at, this.processedUntil);
    const first = this.consent === null;
    const locationChanged = this.consent?.categories.location !== record.categories.location;
    this.consent = record;
    if (first) this.nextStatusAt = Math.min(this.nextStatusAt, from);
    if (locationChanged) this.nextLocationAt = Math.min(this.nextLocationAt, from);
    return true;
  }

  /** The owner changes a recipe on this machine; the next brews of it follow the new values. */
  setRecipe({ recipe, ...adjustment }: RecipeSettings): void {
    this.recipeSettings = { ...this.recipeSettings, [recipe]: { ...this.recipeSettings[recipe], ...adjustment } };
  }

  /** Erases what the device holds about its owner: contact data, recipe settings, its copy of the consent record. */
  wipeLocalData(): void {
    this.leak.owner = null;
    this.recipeSettings = {};
    this.consent = null;
  }

  /** Power cycle at `at`: a brew in progress is cut short and reported as aborted; a machine that should be on heats up again. */
  reboot(at: number, sink: EventSink): void {
    this.advance(at, sink);
    const brew = this.pendingBrew;
    if (brew !== null) {
      this.pendingBrew = null;
      this.brewDoneAt = Infinity;
      const ranMs = Math.min(brew.durationMs, Math.max(0, at - this.brewStartedAt));
      this.publish('brew', { ...brew, durationMs: ranMs, outcome: 'aborted' }, at, sink);
      this.nextBrewAt = this.nextArrival(at);
    }
    this.phases = phases.reboot(this.phases, at, this.shouldBeOn(at));
    this.nextPowerAt = this.nextPowerChange(at);
    this.reportStatus(at, sink);
  }

  /** A read-only view for tests and progress displays. */
  inspect(): { phase: MachinePhase; consumables: Readonly<Consumables>; activeFaults: FaultCode[]; consentVersion: number } {
    return {
      phase: this.phase(this.processedUntil),
      consumables: { ...this.consumables },
      activeFaults: [...(this.activeFaults?.keys() ?? [])],
      consentVersion: this.consentVersion,
    };
  }

  private shouldBeOn(at: number): boolean {
    return shouldBeOn(this.profile, at, this.spot.city.utcOffsetHours);
  }

  private nextPowerChange(from: number): number {
    return nextPowerChange(this.profile, from, this.spot.city.utcOffsetHours, this.phases.rest !== 'off');
  }

  /** The owner's timer: on at the first hour of use, off after the last; switching on shows in a status report. */
  private switchPower(at: number, sink: EventSink): void {
    const on = this.shouldBeOn(at);
    this.phases = on ? phases.powerOn(this.phases, at) : phases.powerOff(this.phases, at);
    this.nextPowerAt = nextPowerChange(this.profile, at, this.spot.city.utcOffsetHours, on);
    if (on) this.reportStatus(at, sink);
  }

  private nextArrival(from: number): number {
    return nextArrival(this.behaviour, this.profile, from, this.spot.city.utcOffsetHours, this.brewRateFactor);
  }

  /**
   * Customers come `factor` times as often as the usage profile says, from `at` on (0: none). A
   * machine waiting for its next customer draws the next arrival anew; one brewing does so when done.
   */
  setBrewRate(factor: number, at: number): void {
    if (!(Number.isFinite(factor) && factor >= 0)) throw new Error('a brew rate factor is a number of at least 0');
    this.brewRateFactor = factor;
    if (this.brewDoneAt === Infinity) this.nextBrewAt = this.nextArrival(Math.max(at, this.processedUntil));
  }

  private startBrew(at: number, sink: EventSink): void {
    this.nextBrewAt = Infinity;
    if (this.blocked()) {
      // Nobody can brew on a machine showing a fault; the customer walks away.
      this.nextBrewAt = this.nextArrival(at);
      return;
    }
    const recipe = weighted(this.behaviour, this.profile.recipes);
    const brew = brewValues(this.behaviour, recipe, this.recipeSettings[recipe]);
    const shortage = shortageFor(this.consumables, this.profile.capacities, brew);
    if (shortage !== null) {
      this.raiseFault(at, shortage, 'error', sink);
      this.nextBrewAt = this.nextArrival(at);
      return;
    }
    // Tripped as the machine starts, before anyone pays: nothing is consumed, the machine waits for service.
    const tripped = spontaneousFault(this.faultRng, this.faultRates, brew.doseG > 0);
    if (tripped !== null && this.phases.rest === 'idle') {
      this.raiseFault(at, tripped, 'error', sink);
      this.nextBrewAt = this.nextArrival(at);
      return;
    }
    const payment = paymentFor(this.behaviour, this.profile, this.market, brew.recipe, this.subscriptionToken);
    if (payment !== null) this.publish('payment', payment, at, sink);
    if (payment?.status === 'declined') {
      this.nextBrewAt = this.nextArrival(at);
      return;
    }
    const planned = phases.startBrew(this.phases, at, brew);
    if (planned === null) {
      this.nextBrewAt = this.nextArrival(at);
      return;
    }
    consume(this.consumables, brew);
    this.phases = planned.state;
    this.pendingBrew = brew;
    this.brewStartedAt = planned.startAt;
    this.brewDoneAt = planned.doneAt;
  }

  private finishBrew(at: number, sink: EventSink): void {
    const brew = this.pendingBrew;
    this.pendingBrew = null;
    this.brewDoneAt = Infinity;
    if (brew !== null) this.publish('brew', brew, at, sink);
    if (this.consumables.cupsUntilDescale === 0) this.raiseFault(at, 'descale_due', 'warning', sink);
    if (this.serviceAt === Infinity && isLow(this.consumables, this.profile.capacities) && chance(this.behaviour, this.profile.proactiveRefill)) {
      this.serviceAt = at + Math.round(uniform(this.behaviour, ...PROACTIVE_REFILL_DELAY_MIN) * MINUTE_MS);
    }
    this.nextBrewAt = this.nextArrival(at);
  }

  private raiseFault(at: number, code: FaultCode, severity: 'warning' | 'error', sink: EventSink): void {
    this.activeFaults ??= new Map();
    if (this.activeFaults.has(code)) return;
    this.activeFaults.set(code, severity);
    if (severity === 'error') this.phases = phases.fault();
    this.publish('fault', { code, severity, cleared: false }, at, sink);
    const [min, max] = this.profile.serviceDelayMinutes;
    this.serviceAt = Math.min(this.serviceAt, at + Math.round(uniform(this.behaviour, min, max) * MINUTE_MS));
    this.reportStatus(at, sink);
  }

  /** Someone refills, empties the grounds bin, descales if due; every active fault clears. */
  private serviceVisit(at: number, sink: EventSink): void {
    this.serviceAt = Infinity;
    const descale = this.consumables.cupsUntilDescale === 0;
    service(this.consumables, this.profile.capacities);
    this.phases = phases.recover(this.phases, at, descale);
    for (const [code, severity] of this.activeFaults ?? []) this.publish('fault', { code, severity, cleared: true }, at, sink);
    this.activeFaults = null;
    this.reportStatus(at, sink);
  }

  private reportStatus(at: number, sink: EventSink): void {
    if (this.nextStatusAt <= at) this.nextStatusAt = at + STATUS_EVERY_MS;
    const phase = this.phase(at);
    const c = this.consumables;
    this.publish(
      'status',
      {
        phase,
        waterTankMl: c.waterTankMl,
        beansG: c.beansG,
        milkMl: c.milkMl,
        groundsBinCount: c.groundsBinCount,
        cupsUntilDescale: c.cupsUntilDescale,
        boilerTempC: Math.round(normal(this.sensors, this.activeFaults?.has('overheat') ? OVERHEAT_C : phases.boilerTargetC(this.phases, at), 0.8) * 10) / 10,
      },
      at,
      sink,
    );
  }

  private reportLocation(at: number, sink: EventSink): void {
    this.nextLocationAt = at + LOCATION_EVERY_MS;
    this.publish('location', fixOf(this.sensors, this.spot), at, sink);
  }

  private blocked(): boolean {
    for (const severity of this.activeFaults?.values() ?? []) if (severity === 'error') return true;
    return false;
  }

  private phase(at: number): MachinePhase {
    this.phases = phases.settle(this.phases, at);
    return phases.phaseAt(this.phases, at);
  }

  private publish<K extends EventKind>(kind: K, body: EventBody<K>, at: number, sink: EventSink): void {
    if (this.firmware === 'leaky') {
      sink.emit(kind, this.envelope(kind, leakyBody(this.leakRng, kind, body, this.leak), at, this.consentVersion));
      return;
    }
    const decision = decideAtEdge(kind, body, this.consent);
    if (decision.publish) sink.emit(kind, this.envelope(kind, decision.body, at, this.consentVersion));
    else sink.suppress(kind, decision.reason);
  }
}
