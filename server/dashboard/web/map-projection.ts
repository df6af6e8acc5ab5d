import { geoNaturalEarth1, type GeoProjection } from 'd3-geo';

/** The map's SVG coordinate box; the build draws the land and the page places machines in it. */
export const MAP_WIDTH = 960;
export const MAP_HEIGHT = 500;

/** Fitted to the whole sphere, not to data, so the build and the page get the same projection. */
export function mapProjection(): GeoProjection {
  return geoNaturalEarth1().fitSize([MAP_WIDTH, MAP_HEIGHT], { type: 'Sphere' });
}
