/** `npm run bench:storm`'s login verification pass: CPU per login check, broker side and server side. */
import { pino } from 'pino';
import { createConcurrencyLimit } from '../broker/concurrency-limit.ts';
import { brokerConfigSchema } from '../broker/config.ts';
import { createDeviceVerifier } from '../broker/device-verifier.ts';
import { createRevocations } from '../broker/revocations.ts';
import type { MachineIdentity } from '../firmware-sim/fleet-options.ts';
import { ownCpuMicros, processCpuMicros } from './process-cpu.ts';
import type { ServerProcess } from './server-process.ts';

/**
 * Logins waiting at once in the verification pass, as in a storm: as many as the broker's defaults
 * admit without refusing (authChecks.maxConcurrent requests in flight plus maxQueued waiting), so the
 * verifier coalesces them into batches as the broker does.
 */
const DEFAULT_AUTH_CHECKS = brokerConfigSchema.parse({ unsafePermissiveTestMode: true }).authChecks;
const VERIFY_CONCURRENCY = DEFAULT_AUTH_CHECKS.maxConcurrent + DEFAULT_AUTH_CHECKS.maxQueued;
/**
 * The broker's verifier, cache off, asking the registry once per device: this process's CPU plus the
 * server's. `batchMax` caps the logins per request (the verifier's default when undefined); null
 * when `signal` aborted the pass or a process's CPU could not be read.
 */
export async function verificationCost(
  server: ServerProcess,
  brokerToken: string,
  machines: readonly MachineIdentity[],
  batchMax: number | undefined,
  signal: AbortSignal,
): Promise<{ brokerUs: number; serverUs: number } | null> {
  const authChecks = batchMax === undefined ? {} : { batchMax };
  const config = brokerConfigSchema.parse({
    // CPU is measured, not latency: on a loaded machine a pass of small requests outlasts the 5 s a
    // login may wait for a check, and a login turned away unasked would measure nothing.
    deviceAuth: { url: `${server.httpUrl}/api/v1/broker/device-auth`, token: brokerToken, cacheTtlMs: 0, timeoutMs: 600_000 },
    authChecks,
  });
  const verifier = createDeviceVerifier(
    { deviceAuth: config.deviceAuth!, authChecks: config.authChecks },
    createRevocations({ horizonMs: 60_000, maxEntries: 10 }),
    pino({ level: 'silent' }),
  );
  const limit = createConcurrencyLimit({ maxActive: VERIFY_CONCURRENCY, maxQueued: machines.length, maxWaitMs: 600_000 });
  const ownBefore = ownCpuMicros();
  const serverBefore = processCpuMicros(server.pid);
  let valid = 0;
  await Promise.all(
    machines.map((m) =>
      limit.run(async () => {
        if (signal.aborted) return;
        if ((await verifier.verify(m.deviceId, m.secret)).outcome === 'valid') valid++;
      }),
    ),
  );
  const ownUs = ownCpuMicros() - ownBefore;
  const serverAfter = processCpuMicros(server.pid);
  verifier.close();
  if (signal.aborted || serverBefore === null || serverAfter === null) return null;
  if (valid !== machines.length) throw new Error(`the registry accepted ${valid} of ${machines.length} devices in the verification pass`);
  return { brokerUs: ownUs / machines.length, serverUs: (serverAfter - serverBefore) / machines.length };
}
