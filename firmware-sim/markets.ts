import type { RegionId } from '../schema/regions.ts';

/**
 * Where machines of a region stand and what a coffee costs there. Offsets are standard time: the
 * skeleton's daily rhythm does not need daylight saving.
 */
export interface City {
  name: string;
  lat: number;
  lon: number;
  utcOffsetHours: number;
}

export interface Market {
  cities: readonly City[];
  currency: string;
  /** Multiplier on the euro-cent reference price list, rounded to the market's usual steps. */
  priceFactor: number;
  priceStepMinor: number;
}

const EU: Market = {
  currency: 'EUR',
  priceFactor: 1,
  priceStepMinor: 10,
  cities: [
    { name: 'Berlin', lat: 52.52, lon: 13.405, utcOffsetHours: 1 },
    { name: 'Paris', lat: 48.8566, lon: 2.3522, utcOffsetHours: 1 },
    { name: 'Madrid', lat: 40.4168, lon: -3.7038, utcOffsetHours: 1 },
    { name: 'Amsterdam', lat: 52.3676, lon: 4.9041, utcOffsetHours: 1 },
    { name: 'Milan', lat: 45.4642, lon: 9.19, utcOffsetHours: 1 },
    { name: 'Vienna', lat: 48.2082, lon: 16.3738, utcOffsetHours: 1 },
  ],
};

const US: Market = {
  currency: 'USD',
  priceFactor: 1.3,
  priceStepMinor: 5,
  cities: [
    { name: 'New York', lat: 40.7128, lon: -74.006, utcOffsetHours: -5 },
    { name: 'Chicago', lat: 41.8781, lon: -87.6298, utcOffsetHours: -6 },
    { name: 'Austin', lat: 30.2672, lon: -97.7431, utcOffsetHours: -6 },
    { name: 'San Francisco', lat: 37.7749, lon: -122.4194, utcOffsetHours: -8 },
    { name: 'Seattle', lat: 47.6062, lon: -122.3321, utcOffsetHours: -8 },
  ],
};

const CN: Market = {
  currency: 'CNY',
  priceFactor: 8,
  priceStepMinor: 100,
  cities: [
    { name: 'Shanghai', lat: 31.2304, lon: 121.4737, utcOffsetHours: 8 },
    { name: 'Beijing', lat: 39.9042, lon: 116.4074, utcOffsetHours: 8 },
    { name: 'Shenzhen', lat: 22.5431, lon: 114.0579, utcOffsetHours: 8 },
    { name: 'Hangzhou', lat: 30.2741, lon: 120.1551, utcOffsetHours: 8 },
    { name: 'Chengdu', lat: 30.5728, lon: 104.0668, utcOffsetHours: 8 },
  ],
};

const MARKETS: Readonly<Record<string, Market>> = { eu: EU, us: US, cn: CN };

/** Regions are configurable; one we know nothing about gets a neutral market rather than an error. */
const FALLBACK: Market = {
  currency: 'USD',
  priceFactor: 1.2,
  priceStepMinor: 5,
  cities: [...EU.cities, ...US.cities, ...CN.cities],
};

export const marketOf = (region: RegionId): Market => MARKETS[region] ?? FALLBACK;
