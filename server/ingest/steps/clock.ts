import { need, type Step } from '../pipeline.ts';

/** What the API can write back out: ISO 8601 with a four-digit year, in UTC. */
const SERIALISABLE_FROM = Date.parse('0000-01-01T00:00:00.000Z');
const SERIALISABLE_TO = Date.parse('9999-12-31T23:59:59.999Z');

export interface ClockWindow {
  aheadMs: number;
  behindMs: number;
}

/** Whether a device time lies in the window around the receive time, and in years 0000-9999 UTC. */
export function inClockWindow(deviceMs: number, receivedMs: number, window: ClockWindow): boolean {
  return deviceMs >= Math.max(receivedMs - window.behindMs, SERIALISABLE_FROM) && deviceMs <= Math.min(receivedMs + window.aheadMs, SERIALISABLE_TO);
}

/**
 * Device clocks are bounded around the server's receive time, so no stored row carries a time the
 * API cannot serialise (the schema admits `9999-12-31T23:00:00-05:00`, which is year 10000 in UTC)
 * and none is absurd for retention, which goes by the older of device time and arrival.
 */
export function clock(window: ClockWindow): Step {
  return {
    name: 'clock',
    run(ctx) {
      const event = need(ctx.event, 'event');
      const deviceMs = Date.parse(event.ts);
      if (inClockWindow(deviceMs, ctx.message.receivedAt.getTime(), window)) return undefined;
      const ahead = deviceMs > ctx.message.receivedAt.getTime();
      return {
        reason: 'clock_out_of_range',
        findings: [{ path: 'ts', problem: ahead ? 'too far ahead of the server clock' : 'too far behind the server clock' }],
      };
    },
  };
}
