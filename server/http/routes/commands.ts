import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { errorBodySchema } from '../../../schema/api.ts';
import { COMMAND_ARGS, commandNameV1Schema, commandResultSchema, type CommandName } from '../../../schema/commands.ts';
import { deviceIdSchema } from '../../../schema/ids.ts';
import { toConsentRecord } from '../../consent/publisher.ts';
import type { DirectoryEntry } from '../../store/types.ts';
import type { AppDeps } from '../app-deps.ts';
import { fromStore, HttpError } from '../errors.ts';

const errors = {
  400: errorBodySchema,
  401: errorBodySchema,
  403: errorBodySchema,
  404: errorBodySchema,
  409: errorBodySchema,
  410: errorBodySchema,
  503: errorBodySchema,
  504: errorBodySchema,
};

const paramsSchema = z.object({ id: deviceIdSchema, name: commandNameV1Schema });
const querySchema = z.object({
  /** How long to wait for the device's answer before giving up with 504 COMMAND_TIMEOUT. */
  waitMs: z.coerce.number().int().min(100).max(60_000).default(10_000),
});

export const commandRoutes: FastifyPluginAsyncZod<AppDeps> = async (app, deps) => {
  /**
   * The arguments that go on the wire. apply-consent carries the record from the device's ledger in
   * its home region, never one from the request: the ledger is the only source of consent.
   */
  async function argsFor(name: CommandName, entry: DirectoryEntry, body: unknown): Promise<unknown> {
    if (name === 'apply-consent') {
      if (body !== undefined && (typeof body !== 'object' || body === null || Object.keys(body).length > 0)) {
        throw new HttpError('VALIDATION_FAILED', 'apply-consent takes no body: the record comes from the consent ledger');
      }
      const current = await fromStore(deps.consent.current(entry.deviceId, entry.region));
      if (current === null) throw new HttpError('CONFLICT', `device ${entry.deviceId} has no consent record yet`);
      return { record: toConsentRecord(current) };
    }
    const args = COMMAND_ARGS[name].safeParse(body ?? {});
    if (!args.success) {
      const issue = args.error.issues[0];
      throw new HttpError('VALIDATION_FAILED', `invalid ${name} arguments: ${issue ? `${issue.path.join('.') || 'body'}: ${issue.message}` : 'invalid'}`);
    }
    return args.data;
  }

  app.post(
    '/api/v1/devices/:id/commands/:name',
    {
      config: { access: { roles: ['admin'] } },
      schema: {
        summary: "Send a command to a device over MQTT and return the device's answer (504 when none comes in time)",
        params: paramsSchema,
        querystring: querySchema,
        body: z.record(z.string(), z.unknown()).nullish(),
        response: { 200: commandResultSchema, ...errors },
      },
    },
    async (request) => {
      const { id, name } = request.params;
      const entry = await fromStore(deps.directory.lookup(id));
      if (!entry) throw new HttpError('NOT_FOUND', `no device ${id}`);
      // The directory keeps an erased device's routing entry; nothing is sent to it any more. (The
      // erasure's own wipe-local-data goes straight to the command sender, not through this route.)
      if (await fromStore(deps.privacy.tombstones.has(entry.region, entry.deviceId))) throw new HttpError('DEVICE_ERASED', `device ${id} was erased`);
      const args = await argsFor(name, entry, request.body ?? undefined);
      if (deps.commands === undefined) throw new HttpError('BROKER_UNAVAILABLE', 'this server sends no commands: it has no MQTT side');
      const outcome = await deps.commands.send(entry.deviceId, name, args, request.query.waitMs);
      if (outcome.status === 'no_broker') throw new HttpError('BROKER_UNAVAILABLE', 'the server is not connected to a broker yet');
      if (outcome.status === 'timeout') {
        throw new HttpError('COMMAND_TIMEOUT', `device ${id} did not answer command ${outcome.commandId} within ${request.query.waitMs} ms`);
      }
      return outcome.result;
    },
  );
};
