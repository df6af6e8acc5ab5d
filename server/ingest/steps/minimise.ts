import { limitLocation } from '../../../schema/location.ts';
import { need, type Step } from '../pipeline.ts';

/** Keeps no more than consent allows (a location at most at the consented precision) and shapes the row. */
export const minimise: Step = {
  name: 'minimise',
  run(ctx) {
    const event = need(ctx.event, 'event');
    const decision = need(ctx.decision, 'decision');
    let body: object = event.body;
    if (event.kind === 'location') {
      const limited = limitLocation(event.body, decision.precision);
      if (!limited) return { reason: 'not_consented', findings: [{ path: 'consent.location', problem: 'not consented' }] };
      body = limited;
    }
    ctx.row = {
      id: event.id,
      deviceId: event.deviceId,
      kind: event.kind,
      seq: event.seq,
      deviceTs: new Date(event.ts),
      receivedAt: ctx.message.receivedAt,
      consentVersion: decision.consentVersion,
      body: JSON.stringify(body),
    };
    return undefined;
  },
};
