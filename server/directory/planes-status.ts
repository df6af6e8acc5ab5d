import type { PlaneStatus } from '../../schema/directory.ts';
import type { RegionId } from '../../schema/regions.ts';
import type { PlaneClient } from './plane-client.ts';

/**
 * Every plane's endpoints, its health and its counts, asked of all planes at once. Counts only, from
 * the plane's own `GET /api/v1/regions`: no row of a plane passes through the directory. A plane
 * that does not answer is shown down with null counts; it never fails the whole view.
 */
export async function planesStatus(planes: ReadonlyMap<RegionId, PlaneClient>, devicesByRegion: ReadonlyMap<RegionId, number>): Promise<PlaneStatus[]> {
  return Promise.all(
    [...planes.values()].map(async (client): Promise<PlaneStatus> => {
      const { region, mqttUrl, apiUrl } = client.plane;
      const state = await client.health();
      const counts = state === 'down' ? null : await client.counts();
      return { region, mqttUrl, apiUrl, state, stored: counts?.stored ?? null, refused: counts?.refused ?? null, devices: devicesByRegion.get(region) ?? 0 };
    }),
  );
}
