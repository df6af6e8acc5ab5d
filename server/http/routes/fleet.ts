import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { deviceIdParamsSchema, errorBodySchema } from '../../../schema/api.ts';
import type { RegionId } from '../../../schema/regions.ts';
import { toConsentRecord } from '../../consent/publisher.ts';
import { fleetDeviceDetailSchema, fleetResponseSchema, type DashboardEvent, type DeviceRefusal, type FleetDevice } from '../../dashboard/dashboard-api.ts';
import { fleetDevice } from '../../dashboard/fleet-view.ts';
import { DASHBOARD_ROLES, mayReadBodies } from '../../dashboard/scope.ts';
import { toStoredEvent } from '../../privacy/owner-export.ts';
import type { DirectoryEntry, EventRow, QuarantineEntry, RegionStore } from '../../store/types.ts';
import type { AppDeps } from '../app-deps.ts';
import { principalOf } from '../auth.ts';
import { createDeviceView } from '../device-view.ts';
import { fromStore } from '../errors.ts';

const errors = { 401: errorBodySchema, 403: errorBodySchema, 404: errorBodySchema, 503: errorBodySchema };
const RECENT_EVENTS = 10;
const RECENT_REFUSALS = 10;

const toDeviceRefusal = (row: QuarantineEntry): DeviceRefusal => ({
  id: row.id,
  receivedAt: row.receivedAt.toISOString(),
  reason: row.reason,
  kind: row.kind,
  eventId: row.eventId,
  explanation: row.explanation,
  payloadKept: row.payload !== null,
});

function toDashboardEvent(row: EventRow, withBody: boolean): DashboardEvent {
  const { body, ...event } = toStoredEvent(row);
  return withBody ? { ...event, body } : event;
}

/** The fleet as the dashboard draws it, read from each device's home-region store only. */
export const fleetRoutes: FastifyPluginAsyncZod<AppDeps> = async (app, deps) => {
  const view = createDeviceView(deps);
  const latest = async (store: RegionStore, deviceId: string, kind: 'location' | 'status'): Promise<EventRow | null> =>
    (await store.listEvents(deviceId, { kind, limit: 1 }))[0] ?? null;

  /** Location and consumables are event bodies: only roles that may read bodies get them. */
  async function describe(entry: DirectoryEntry, withBodies: boolean): Promise<FleetDevice> {
    const store = view.store(entry.region);
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

  app.get(
    '/api/v1/fleet',
    {
      config: { access: { roles: DASHBOARD_ROLES } },
      schema: {
        summary: 'Every device this token may see: state, consent, last position at the consented precision, consumables',
        response: { 200: fleetResponseSchema, ...errors },
      },
    },
    async (request) => {
      const principal = principalOf(request);
      const entries = await view.visible(principal);
      const withBodies = mayReadBodies(principal);
      const devices = await fromStore(Promise.all(entries.map((e) => describe(e, withBodies))));
      // A bulk read of personal data (states, consent, positions): one entry in each region's log it read.
      const perRegion = new Map<RegionId, number>();
      for (const e of entries) perRegion.set(e.region, (perRegion.get(e.region) ?? 0) + 1);
      await fromStore(
        Promise.all(
          [...perRegion].map(([region, read]) =>
            deps.privacy.audit.region(region).append({
              actor: principal.subject,
              action: 'fleet.read',
              target: region,
              detail: { devices: read, bodies: withBodies },
            }),
          ),
        ),
      );
      return { devices };
    },
  );

  app.get(
    '/api/v1/fleet/:id',
    {
      config: { access: { roles: DASHBOARD_ROLES } },
      schema: {
        summary: 'One device as the dashboard shows it, with its latest stored events',
        params: deviceIdParamsSchema,
        response: { 200: fleetDeviceDetailSchema, ...errors },
      },
    },
    async (request) => {
      const principal = principalOf(request);
      const entry = await view.device(principal, request.params.id);
      const withBodies = mayReadBodies(principal);
      const device = await fromStore(describe(entry, withBodies));
      // Explanations only: what a refused message held stays in the quarantine, behind its own audited route.
      const refusals = await fromStore(view.store(entry.region).listRefusals({ limit: RECENT_REFUSALS, deviceId: entry.deviceId }));
      // Without bodies the recent events still tell when the machine was used: audited either way.
      const recent = await view.readEvents(principal, entry, { limit: RECENT_EVENTS }, { via: 'dashboard', bodies: withBodies, refusals: refusals.length });
      return { ...device, recent: recent.map((row) => toDashboardEvent(row, withBodies)), refusals: refusals.map(toDeviceRefusal) };
    },
  );
};
