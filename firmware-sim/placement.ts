import type { EventBody } from '../schema/events.ts';
import type { City } from './markets.ts';
import { uniform, type Rng } from './random.ts';

const METRES_PER_DEGREE = 111_320;
const MAX_DISTANCE_FROM_CENTRE_M = 8_000;

export interface Spot {
  city: City;
  lat: number;
  lon: number;
}

const offsetBy = (lat: number, lon: number, distanceM: number, bearing: number): { lat: number; lon: number } => ({
  lat: lat + (distanceM * Math.cos(bearing)) / METRES_PER_DEGREE,
  lon: lon + (distanceM * Math.sin(bearing)) / (METRES_PER_DEGREE * Math.cos((lat * Math.PI) / 180)),
});

/** Where in its city a machine stands: uniform over a disc around the centre, fixed for its lifetime. */
export function placeInCity(rng: Rng, city: City): Spot {
  const distance = MAX_DISTANCE_FROM_CENTRE_M * Math.sqrt(rng.next());
  const { lat, lon } = offsetBy(city.lat, city.lon, distance, uniform(rng, 0, 2 * Math.PI));
  return { city, lat, lon };
}

const round6 = (value: number): number => Math.round(value * 1e6) / 1e6;

/** One GNSS/Wi-Fi fix of the spot: exact precision, a few metres of noise within the claimed accuracy. */
export function fixOf(rng: Rng, spot: Spot): EventBody<'location'> {
  const accuracyM = Math.round(uniform(rng, 4, 25));
  const { lat, lon } = offsetBy(spot.lat, spot.lon, accuracyM * rng.next(), uniform(rng, 0, 2 * Math.PI));
  return { precision: 'exact', lat: round6(lat), lon: round6(lon), accuracyM };
}
