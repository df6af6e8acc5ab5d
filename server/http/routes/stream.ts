import type { ServerResponse } from 'node:http';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { errorBodySchema } from '../../../schema/api.ts';
import { streamQuerySchema, type StreamMessage } from '../../dashboard/dashboard-api.ts';
import { DASHBOARD_ROLES, mayReadBodies } from '../../dashboard/scope.ts';
import { passes, toStreamMessage } from '../../dashboard/stream-filter.ts';
import type { AppDeps } from '../app-deps.ts';
import { assertRegion, principalOf, visibleRegions } from '../auth.ts';
import { StreamSlots } from '../stream-slots.ts';
import { fromStore } from '../errors.ts';

/** A slow reader is cut off rather than buffered without bound; the page reconnects. */
const MAX_BUFFERED_BYTES = 1 << 20;
/**
 * A person reads a few events a second; at ingest rates of thousands a second the rest are counted
 * and reported as `skipped` once a second instead of flooding the browser.
 */
const MAX_PER_SECOND = 50;

const frame = (message: StreamMessage): string => `event: ${message.type}\ndata: ${JSON.stringify(message)}\n\n`;

/**
 * Server-sent events of what ingest committed, filtered by region, kind and device within the
 * regions the token may see.
 */
export const streamRoutes: FastifyPluginAsyncZod<AppDeps> = async (app, deps) => {
  const open = new Set<ServerResponse>();
  const slots = new StreamSlots(deps.config.http.streams, deps.metrics);
  // Streams never end on their own; without this, closing the server would wait for every reader.
  app.addHook('preClose', async () => {
    for (const res of open) res.end();
  });

  app.get(
    '/api/v1/stream',
    {
      config: { access: { roles: DASHBOARD_ROLES } },
      schema: {
        summary: 'Live committed events and refusals (text/event-stream); bodies only for roles that may read them',
        querystring: streamQuerySchema,
        response: { 400: errorBodySchema, 401: errorBodySchema, 403: errorBodySchema, 429: errorBodySchema, 503: errorBodySchema },
      },
    },
    async (request, reply) => {
      const principal = principalOf(request);
      const filter = request.query;
      if (filter.region) assertRegion(principal, filter.region);
      const visible = new Set(visibleRegions(principal, deps.config.regions));
      const withBodies = mayReadBodies(principal);
      const release = slots.take(principal);
      // Audited like any read of personal data: an entry per region in scope when the stream opens
      // (refused with 503 when the log cannot take it), and one when it closes with what it sent.
      const scope = filter.region ? [filter.region] : [...visible];
      const sent = new Map(scope.map((region) => [region, { events: 0, refusals: 0, skipped: 0 }]));
      const openedAt = Date.now();
      const streamDetail = { bodies: withBodies, kind: filter.kind ?? null, device: filter.device ?? null };
      await fromStore(
        Promise.all(
          scope.map((region) =>
            deps.privacy.audit.region(region).append({
              actor: principal.subject,
              action: 'stream.open',
              target: region,
              detail: streamDetail,
            }),
          ),
        ),
      );

      reply.hijack();
      const res = reply.raw;
      res.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-store',
        'x-accel-buffering': 'no',
      });
      res.write(': brewtel live stream\n\n');
      open.add(res);

      const send = (message: StreamMessage): void => {
        if (res.writableLength > MAX_BUFFERED_BYTES) {
          res.end();
          return;
        }
        res.write(frame(message));
      };
      let budget = MAX_PER_SECOND;
      let skipped = 0;
      const unsubscribe = deps.liveFeed.subscribe((notice) => {
        if (!passes(notice, filter, visible)) return;
        const tally = sent.get(notice.region);
        if (budget === 0) {
          skipped += 1;
          if (tally) tally.skipped += 1;
          return;
        }
        budget -= 1;
        send(toStreamMessage(notice, withBodies));
        if (tally) tally[notice.type === 'stored' ? 'events' : 'refusals'] += 1;
      });
      const refill = setInterval(() => {
        if (skipped > 0) send({ type: 'skipped', count: skipped });
        skipped = 0;
        budget = MAX_PER_SECOND;
      }, 1_000);
      res.on('close', () => {
        release();
        clearInterval(refill);
        unsubscribe();
        open.delete(res);
        const seconds = Math.round((Date.now() - openedAt) / 1_000);
        for (const [region, counts] of sent) {
          deps.privacy.audit
            .region(region)
            .record({ actor: principal.subject, action: 'stream.close', target: region, detail: { ...streamDetail, ...counts, seconds } });
        }
      });
    },
  );
};
