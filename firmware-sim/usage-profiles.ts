import { z } from 'zod';
import type { Recipe } from '../schema/events.ts';
import { exponential, type Rng } from './random.ts';

export const usageProfileNameSchema = z.enum(['home', 'office', 'cafe']);
export type UsageProfileName = z.infer<typeof usageProfileNameSchema>;

export type PaymentMethod = 'card' | 'mobile' | 'subscription';

export interface Capacities {
  waterTankMl: number;
  beansG: number;
  milkMl: number;
  groundsBin: number;
  descaleEveryCups: number;
}

export interface UsageProfile {
  name: UsageProfileName;
  /** Brews per hour by local hour of day (index 0 = midnight to 1 am), on a weekday. */
  weekdayRate: readonly number[];
  /** Multiplier on weekends (office machines are mostly idle then). */
  weekendFactor: number;
  recipes: Readonly<Partial<Record<Recipe, number>>>;
  /** Empty means drinks are free (a home machine). */
  payment: Readonly<Partial<Record<PaymentMethod, number>>>;
  capacities: Capacities;
  /** Chance that someone tops up after a brew once a consumable is below a fifth; otherwise it runs empty. */
  proactiveRefill: number;
  /** Minutes until someone notices a fault and services the machine. */
  serviceDelayMinutes: readonly [min: number, max: number];
}

const hours = (spec: ReadonlyArray<[from: number, to: number, rate: number]>): number[] => {
  const rates = new Array<number>(24).fill(0);
  for (const [from, to, rate] of spec) for (let h = from; h < to; h++) rates[h] = rate;
  return rates;
};

export const USAGE_PROFILES: Readonly<Record<UsageProfileName, UsageProfile>> = {
  home: {
    name: 'home',
    weekdayRate: hours([
      [6, 7, 0.6],
      [7, 9, 1.2],
      [9, 12, 0.15],
      [12, 14, 0.4],
      [14, 17, 0.35],
      [17, 20, 0.2],
      [20, 22, 0.15],
    ]),
    weekendFactor: 1.2,
    recipes: { espresso: 25, lungo: 15, americano: 10, cappuccino: 25, latte: 15, flat_white: 5, hot_water: 5 },
    payment: {},
    capacities: { waterTankMl: 1800, beansG: 250, milkMl: 500, groundsBin: 10, descaleEveryCups: 250 },
    proactiveRefill: 0.35,
    serviceDelayMinutes: [10, 240],
  },
  office: {
    name: 'office',
    weekdayRate: hours([
      [7, 8, 2],
      [8, 10, 7],
      [10, 12, 3.5],
      [12, 13, 2],
      [13, 15, 5.5],
      [15, 17, 3],
      [17, 19, 1],
    ]),
    weekendFactor: 0.05,
    recipes: { espresso: 20, lungo: 15, americano: 20, cappuccino: 20, latte: 12, flat_white: 8, hot_water: 5 },
    payment: { subscription: 70, card: 20, mobile: 10 },
    capacities: { waterTankMl: 4000, beansG: 1000, milkMl: 2000, groundsBin: 40, descaleEveryCups: 600 },
    proactiveRefill: 0.5,
    serviceDelayMinutes: [5, 60],
  },
  cafe: {
    name: 'cafe',
    weekdayRate: hours([
      [7, 10, 24],
      [10, 12, 12],
      [12, 14, 18],
      [14, 17, 14],
      [17, 19, 6],
    ]),
    weekendFactor: 1.1,
    recipes: { espresso: 22, lungo: 5, americano: 13, cappuccino: 22, latte: 20, flat_white: 15, hot_water: 3 },
    payment: { card: 55, mobile: 45 },
    capacities: { waterTankMl: 5000, beansG: 2000, milkMl: 3000, groundsBin: 60, descaleEveryCups: 1000 },
    proactiveRefill: 0.8,
    serviceDelayMinutes: [2, 20],
  },
};

const HOUR_MS = 3_600_000;

/** Local hour (0-23) and whether it is a weekend, from a simulated UTC instant and a fixed offset. */
export function localTime(simMs: number, utcOffsetHours: number): { hour: number; weekend: boolean } {
  const local = new Date(simMs + utcOffsetHours * HOUR_MS);
  const day = local.getUTCDay();
  return { hour: local.getUTCHours(), weekend: day === 0 || day === 6 };
}

/** Brews per hour the profile expects at this instant. */
export function brewRate(profile: UsageProfile, simMs: number, utcOffsetHours: number): number {
  const { hour, weekend } = localTime(simMs, utcOffsetHours);
  const base = profile.weekdayRate[hour] ?? 0;
  return weekend ? base * profile.weekendFactor : base;
}

export const peakRate = (profile: UsageProfile): number => Math.max(...profile.weekdayRate) * Math.max(1, profile.weekendFactor);

/**
 * Next customer after `from`, by thinning a Poisson process at the profile's peak rate against the
 * rate of the hour; `factor` scales every hour's rate alike (2: twice the customers, 0: none).
 */
export function nextArrival(rng: Rng, profile: UsageProfile, from: number, utcOffsetHours: number, factor = 1): number {
  const peak = peakRate(profile) * factor;
  if (peak <= 0) return Infinity;
  let t = from;
  for (let i = 0; i < 10_000; i++) {
    t += exponential(rng, HOUR_MS / peak);
    if (rng.next() * peak < brewRate(profile, t, utcOffsetHours) * factor) return Math.round(t);
  }
  return Infinity;
}
