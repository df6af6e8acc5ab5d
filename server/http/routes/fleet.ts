import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { deviceIdParamsSchema, errorBodySchema } from '../../../schema/api.ts';
import { toConsentRecord } from '../../consent/publisher.ts';
import { fleetDeviceDetailSchema, fleetResponseSchema, type DashboardEvent, type FleetDevice } from '../../dashboard/dashboard-api.ts';
import { fleetDevice } from '../../dashboard/fleet-view.ts';
import { toStoredEvent } from '../../privacy/owner-export.ts';
import { DASHBOARD_ROLES, mayReadBodies } from '../../dashboard/scope.ts';
import type { RegionId } from '../../../schema/regions.ts';
import type { DirectoryEntry, EventRow, RegionStore } from '../../store/types.ts';
import type { AppDeps } from '../app-deps.ts';
import { assertRegion, principalOf, visibleRegions } from '../auth.ts';
import { fromStore, HttpError } from '../errors.ts';

const errors = { 401: errorBodySchema, 403: errorBodySchema, 404: errorBodySchema, 503: errorBodySchema };
const RECENT_EVENTS = 10;

function toDashboardEvent(row: EventRow, withBody: boolean): DashboardEvent {
  const { body, ...event } = toStoredEvent(row);
  return withBody ? { ...event, body } : event;
}

/** The fleet as the dashboard draws it, read from each device's home-region store only. */
export const fleetRoutes: FastifyPluginAsyncZod<AppDeps> = async (app, deps) => {
  const latest = async (store: RegionStore, deviceId: string, kind: 'location' | 'status'): Promise<EventRow | null> =>
    (await store.listEvents(deviceId, { kind, limit: 1 }))[0] ?? null;

  /** Location and consumables are event bodies: only roles that may read bodies get them. */
  async function describe(entry: DirectoryEntry, withBodies: boolean): Promise<FleetDevice> {
    const store = deps.stores.regions.get(entry.region);
    if (!store) throw new HttpError('UNKNOWN_REGION', `region ${entry.region} is not configured here`);
    const [current, lastLocation, lastStatus] = await Promise.all([
      deps.consent.current(entry.deviceId, entry.region),
      withBodies ? latest(store, entry.deviceId, 'location') : null,
      withBodies ? latest(store, entry.deviceId, 'status') : null,
    ]);
    return fleetDevice({
      entry,
      consent: current ? toConsentRecord(current) : null,
      state: deps.deviceStates.get(entry.deviceId)?.state ?? null,
      lastLocation,
      lastStatus,
    });
  }

  app.get('/api/v1/fleet', {
    config: { access: { roles: DASHBOARD_ROLES } },
    schema: {
      summary: 'Every device this token may see: state, consent, last position at the consented precision, consumables',
      response: { 200: fleetResponseSchema, ...errors },
    },
  }, async (request) => {
    const principal = principalOf(request);
    const visible = new Set(visibleRegions(principal, deps.config.regions));
    const listed = (await fromStore(deps.directory.directory.list())).filter((e) => visible.has(e.region));
    // The directory keeps an erased device's routing entry; the dashboard, like the device API, no longer shows it.
    const erased = await fromStore(Promise.all(listed.map((e) => deps.privacy.tombstones.has(e.region, e.deviceId))));
    const entries = listed.filter((_e, i) => !erased[i]);
    const withBodies = mayReadBodies(principal);
    const devices = await fromStore(Promise.all(entries.map((e) => describe(e, withBodies))));
    // A bulk read of personal data (states, consent, positions): one entry in each region's log it read.
    const perRegion = new Map<RegionId, number>();
    for (const e of entries) perRegion.set(e.region, (perRegion.get(e.region) ?? 0) + 1);
    await fromStore(Promise.all([...perRegion].map(([region, read]) => deps.privacy.audit.region(region).append({
      actor: principal.subject, action: 'fleet.read', target: region, detail: { devices: read, bodies: withBodies },
    }))));
    return { devices };
  });

  app.get('/api/v1/fleet/:id', {
    config: { access: { roles: DASHBOARD_ROLES } },
    schema: {
      summary: 'One device as the dashboard shows it, with its latest stored events',
      params: deviceIdParamsSchema,
      response: { 200: fleetDeviceDetailSchema, ...errors },
    },
  }, async (request) => {
    const principal = principalOf(request);
    const entry = await fromStore(deps.directory.lookup(request.params.id));
    if (!entry) throw new HttpError('NOT_FOUND', `no device ${request.params.id}`);
    assertRegion(principal, entry.region);
    if (await fromStore(deps.privacy.tombstones.has(entry.region, entry.deviceId))) throw new HttpError('NOT_FOUND', `device ${request.params.id} was erased`);
    const withBodies = mayReadBodies(principal);
    const device = await fromStore(describe(entry, withBodies));
    const store = deps.stores.regions.get(entry.region);
    const recent = store ? await fromStore(store.listEvents(entry.deviceId, { limit: RECENT_EVENTS })) : [];
    // Without bodies the recent events still tell when the machine was used: audited either way.
    await fromStore(deps.privacy.audit.region(entry.region).append({
      actor: principal.subject, action: 'device.read_events', target: entry.deviceId, detail: { events: recent.length, via: 'dashboard', bodies: withBodies },
    }));
    return { ...device, recent: recent.map((row) => toDashboardEvent(row, withBodies)) };
  });
};
