import { geoNaturalEarth1 } from 'd3-geo';
import { describe, expect, it } from 'vitest';
import { MAP_CENTRE, MAP_HEIGHT, MAP_SCALE, MAP_WIDTH, projectPoint } from '../../server/dashboard/web/map-projection.ts';

describe('the page places machines where the build drew the land', () => {
  it('uses the scale and centre that fit the sphere into the map box', () => {
    const fitted = geoNaturalEarth1().fitSize([MAP_WIDTH, MAP_HEIGHT], { type: 'Sphere' });
    expect(fitted.scale()).toBeCloseTo(MAP_SCALE, 6);
    expect(fitted.translate()).toEqual([MAP_CENTRE[0], MAP_CENTRE[1]]);
  });

  it('projects points as d3-geo does', () => {
    const d3 = geoNaturalEarth1().scale(MAP_SCALE).translate([MAP_CENTRE[0], MAP_CENTRE[1]]);
    for (const [lon, lat] of [
      [13.4, 52.5],
      [-74.0, 40.7],
      [121.5, 31.2],
      [-179.9, -85],
      [0, 0],
      [151.2, -33.9],
    ] as const) {
      const [x, y] = projectPoint(lon, lat);
      const expected = d3([lon, lat]);
      expect(x).toBeCloseTo(expected![0], 6);
      expect(y).toBeCloseTo(expected![1], 6);
    }
  });
});
