/** The map's SVG coordinate box; the build draws the land and the page places machines in it. */
export const MAP_WIDTH = 960;
export const MAP_HEIGHT = 500;

/**
 * Natural Earth projection fitted to the whole sphere in that box. The build draws the land with d3's
 * full projection at this scale and centre; the page needs only the raw formula for points (Šavrič et
 * al.'s polynomial, as d3-geo's geoNaturalEarth1Raw), which keeps d3 out of the bundle; a test holds
 * the two together.
 */
export const MAP_SCALE = 175.47805830736132;
export const MAP_CENTRE: readonly [number, number] = [MAP_WIDTH / 2, MAP_HEIGHT / 2];

const RADIANS = Math.PI / 180;

function naturalEarth1(lambda: number, phi: number): [number, number] {
  const phi2 = phi * phi;
  const phi4 = phi2 * phi2;
  return [
    lambda * (0.8707 - 0.131979 * phi2 + phi4 * (-0.013791 + phi4 * (0.003971 * phi2 - 0.001529 * phi4))),
    phi * (1.007226 + phi2 * (0.015085 + phi4 * (-0.044475 + 0.028874 * phi2 - 0.005916 * phi4))),
  ];
}

/** Longitude and latitude in degrees to map coordinates. */
export function projectPoint(lon: number, lat: number): [number, number] {
  const [x, y] = naturalEarth1(lon * RADIANS, lat * RADIANS);
  return [MAP_CENTRE[0] + x * MAP_SCALE, MAP_CENTRE[1] - y * MAP_SCALE];
}
