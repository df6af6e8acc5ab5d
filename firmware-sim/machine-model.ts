import { z } from 'zod';
import type { ConsentRecord } from '../schema/consent.ts';
import type { EventBody, EventKind, MachinePhase } from '../schema/events.ts';
import type { RegionId } from '../schema/regions.ts';
import { service, consume, fullConsumables, isLow, shortageFor, type Consumables } from './consumables.ts';
import { acceptConsent, decideAtEdge, type SuppressReason } from './edge-consent.ts';
import { createEnvelopeFactory, type OutgoingEnvelope } from './envelope.ts';
import { leakyBody, type LeakContext } from './leaky-firmware.ts';
import { marketOf, type Market } from './markets.ts';
import { generateOwner, type Owner } from './owner.ts';
import { paymentFor, paymentToken } from './payments.ts';
import { fixOf, placeInCity, type Spot } from './placement.ts';
import { chance, createRng, deriveSeed, exponential, intBetween, normal, pick, uniform, weighted, type Rng } from './random.ts';
import { phaseOfBrew } from './brew-phases.ts';
import { brewValues } from './recipes.ts';
import { USAGE_PROFILES, brewRate, peakRate, usageProfileNameSchema, type UsageProfile, type UsageProfileName } from './usage-profiles.ts';

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
const AMBIENT_C = 21;
const BOILER_C = 93;

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
  /** Kept on the device only. */
  readonly owner: Owner;

  private readonly profile: UsageProfile;
  private readonly market: Market;
  private readonly behaviour: Rng;
  private readonly sensors: Rng;
  private readonly leakRng: Rng;
  private readonly envelope: ReturnType<typeof createEnvelopeFactory>;
  private readonly subscriptionToken: string;
  private readonly leak: LeakContext;
  private readonly consumables: Consumables;
  private readonly activeFaults = new Map<FaultCode, 'warning' | 'error'>();
  private consent: ConsentRecord | null = null;
  private pendingBrew: BrewBody | null = null;
  private brewStartedAt = 0;
  private processedUntil: number;

  private nextBrewAt: number;
  private brewDoneAt = Infinity;
  private nextStatusAt: number;
  private nextLocationAt: number;
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
    // Ids also mix in the device id: two fleets from one seed must never mint the same event ids.
    this.envelope = createEnvelopeFactory(spec.deviceId, createRng(deriveSeed(spec.fleetSeed, spec.index, spec.deviceId, 'ids')));

    const setup = createRng(seedOf('setup'));
    this.spot = placeInCity(setup, pick(setup, this.market.cities));
    this.owner = generateOwner(setup, spec.region);
    this.subscriptionToken = paymentToken(setup);
    this.leak = { owner: this.owner, exactLat: this.spot.lat, exactLon: this.spot.lon, street: `${intBetween(setup, 1, 120)} Main Street, ${this.spot.city.name}` };
    this.consumables = this.partlyUsedConsumables(setup);

    this.processedUntil = spec.bootAt;
    this.nextStatusAt = spec.bootAt;
    this.nextLocationAt = spec.bootAt;
    this.nextBrewAt = this.nextArrival(spec.bootAt);
  }

  get consentVersion(): number {
    return this.consent?.version ?? 0;
  }

  /** The simulated instant of the next thing this machine will do. */
  nextDueAt(): number {
    return Math.min(this.serviceAt, this.brewDoneAt, this.nextBrewAt, this.nextStatusAt, this.nextLocationAt);
  }

  /** Runs everything due up to and including `until`, in time order, each event stamped with its own instant. */
  advance(until: number, sink: EventSink): void {
    for (let at = this.nextDueAt(); at <= until; at = this.nextDueAt()) {
      this.processedUntil = at;
      if (this.serviceAt === at) this.serviceVisit(at, sink);
      else if (this.brewDoneAt === at) this.finishBrew(at, sink);
      else if (this.nextBrewAt === at) this.startBrew(at, sink);
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

  /** A read-only view for tests and progress displays. */
  inspect(): { phase: MachinePhase; consumables: Readonly<Consumables>; activeFaults: FaultCode[]; consentVersion: number } {
    return { phase: this.phase(this.processedUntil), consumables: { ...this.consumables }, activeFaults: [...this.activeFaults.keys()], consentVersion: this.consentVersion };
  }

  private partlyUsedConsumables(rng: Rng): Consumables {
    const caps = this.profile.capacities;
    const full = fullConsumables(caps);
    return {
      waterTankMl: Math.round(full.waterTankMl * uniform(rng, 0.4, 1)),
      beansG: Math.round(full.beansG * uniform(rng, 0.4, 1)),
      milkMl: Math.round(full.milkMl * uniform(rng, 0.4, 1)),
      groundsBinCount: intBetween(rng, 0, Math.floor(caps.groundsBin / 2)),
      cupsUntilDescale: intBetween(rng, Math.ceil(caps.descaleEveryCups / 4), caps.descaleEveryCups),
    };
  }

  /** Next customer, by thinning a Poisson process at the profile's peak rate against the rate of the hour. */
  private nextArrival(from: number): number {
    const peak = peakRate(this.profile);
    if (peak <= 0) return Infinity;
    let t = from;
    for (let i = 0; i < 10_000; i++) {
      t += exponential(this.behaviour, HOUR_MS / peak);
      if (this.behaviour.next() * peak < brewRate(this.profile, t, this.spot.city.utcOffsetHours)) return Math.round(t);
    }
    return Infinity;
  }

  private startBrew(at: number, sink: EventSink): void {
    this.nextBrewAt = Infinity;
    if (this.blocked()) {
      // Nobody can brew on a machine showing a fault; the customer walks away.
      this.nextBrewAt = this.nextArrival(at);
      return;
    }
    const brew = brewValues(this.behaviour, weighted(this.behaviour, this.profile.recipes));
    const shortage = shortageFor(this.consumables, this.profile.capacities, brew);
    if (shortage !== null) {
      this.raiseFault(at, shortage, 'error', sink);
      this.nextBrewAt = this.nextArrival(at);
      return;
    }
    const payment = paymentFor(this.behaviour, this.profile, this.market, brew.recipe, this.subscriptionToken);
    if (payment !== null) this.publish('payment', payment, at, sink);
    if (payment?.status === 'declined') {
      this.nextBrewAt = this.nextArrival(at);
      return;
    }
    consume(this.consumables, brew);
    this.pendingBrew = brew;
    this.brewStartedAt = at;
    this.brewDoneAt = at + Math.max(1, brew.durationMs);
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
    if (this.activeFaults.has(code)) return;
    this.activeFaults.set(code, severity);
    this.publish('fault', { code, severity, cleared: false }, at, sink);
    const [min, max] = this.profile.serviceDelayMinutes;
    this.serviceAt = Math.min(this.serviceAt, at + Math.round(uniform(this.behaviour, min, max) * MINUTE_MS));
    this.reportStatus(at, sink);
  }

  /** Someone refills, empties the grounds bin, descales if due; every active fault clears. */
  private serviceVisit(at: number, sink: EventSink): void {
    this.serviceAt = Infinity;
    service(this.consumables, this.profile.capacities);
    for (const [code, severity] of this.activeFaults) this.publish('fault', { code, severity, cleared: true }, at, sink);
    this.activeFaults.clear();
    this.reportStatus(at, sink);
  }

  private reportStatus(at: number, sink: EventSink): void {
    if (this.nextStatusAt <= at) this.nextStatusAt = at + STATUS_EVERY_MS;
    const phase = this.phase(at);
    const c = this.consumables;
    this.publish('status', {
      phase,
      waterTankMl: c.waterTankMl,
      beansG: c.beansG,
      milkMl: c.milkMl,
      groundsBinCount: c.groundsBinCount,
      cupsUntilDescale: c.cupsUntilDescale,
      boilerTempC: Math.round(normal(this.sensors, phase === 'off' ? AMBIENT_C : BOILER_C, 0.8) * 10) / 10,
    }, at, sink);
  }

  private reportLocation(at: number, sink: EventSink): void {
    this.nextLocationAt = at + LOCATION_EVERY_MS;
    this.publish('location', fixOf(this.sensors, this.spot), at, sink);
  }

  private blocked(): boolean {
    for (const severity of this.activeFaults.values()) if (severity === 'error') return true;
    return false;
  }

  private phase(at: number): MachinePhase {
    if (this.blocked()) return 'fault';
    if (this.pendingBrew !== null) return phaseOfBrew(this.pendingBrew, at - this.brewStartedAt) ?? 'dispensing';
    return brewRate(this.profile, at, this.spot.city.utcOffsetHours) > 0 ? 'idle' : 'off';
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
