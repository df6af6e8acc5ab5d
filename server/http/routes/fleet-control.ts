import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { errorBodySchema } from '../../../schema/api.ts';
import { fleetControlResponseSchema, setFaultsRequestSchema, setFaultsResponseSchema, setRatesRequestSchema } from '../../../schema/fleet-control.ts';
import type { AppDeps, FleetControl } from '../app-deps.ts';
import { HttpError } from '../errors.ts';

const errors = { 400: errorBodySchema, 401: errorBodySchema, 403: errorBodySchema, 404: errorBodySchema, 409: errorBodySchema };

/** The simulated fleet in this process (npm start, the harness), driven while it runs: admin only. */
export const fleetControlRoutes: FastifyPluginAsyncZod<AppDeps> = async (app, deps) => {
  const fleet = (): FleetControl => {
    const control = deps.fleetControl();
    if (!control) throw new HttpError('FLEET_NOT_RUNNING', "no simulated fleet runs in this server's process");
    return control;
  };

  app.get(
    '/api/v1/control/fleet',
    {
      config: { access: { roles: ['admin'] } },
      schema: { summary: 'The simulated fleet of this process: its machines and counts', response: { 200: fleetControlResponseSchema, ...errors } },
    },
    async () => {
      const control = fleet();
      const { connected, published, injected } = control.stats();
      return { machines: control.machines().map((m) => ({ deviceId: m.deviceId, region: m.region })), connected, published, injected };
    },
  );

  /** The ids of `devices` that are not machines of the fleet answer 404, naming the first few. */
  const checkDevices = (control: FleetControl, devices: readonly string[] | undefined): number => {
    const known = new Set(control.machines().map((m) => m.deviceId));
    const unknown = devices?.filter((id) => !known.has(id)) ?? [];
    if (unknown.length > 0)
      throw new HttpError(
        'NOT_FOUND',
        `not machines of this fleet: ${unknown.slice(0, 5).join(', ')}${unknown.length > 5 ? ` and ${unknown.length - 5} more` : ''}`,
      );
    return devices?.length ?? known.size;
  };

  app.put(
    '/api/v1/control/rates',
    {
      config: { access: { roles: ['admin'] } },
      schema: {
        summary: 'Event rates from now on (customers per machine, as a factor of its usage profile), for chosen machines or all',
        body: setRatesRequestSchema,
        response: { 200: setFaultsResponseSchema, ...errors },
      },
    },
    async (request) => {
      const control = fleet();
      const machines = checkDevices(control, request.body.devices);
      control.setBrewRate(request.body.brewRate, request.body.devices);
      return { machines };
    },
  );

  app.put(
    '/api/v1/control/faults',
    {
      config: { access: { roles: ['admin'] } },
      schema: {
        summary: 'Fault-injection rates from now on, for chosen machines or all',
        body: setFaultsRequestSchema,
        response: { 200: setFaultsResponseSchema, ...errors },
      },
    },
    async (request) => {
      const control = fleet();
      const machines = checkDevices(control, request.body.devices);
      control.injectFaults(request.body.rates, request.body.devices);
      return { machines };
    },
  );
};
