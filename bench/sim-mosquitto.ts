/**
 * A private Mosquitto for bench/sim.ts, in its own process on a free port, seeded with a retained
 * all-categories consent record for every bench machine (compliant firmware publishes nothing
 * without one). Used when the question is how fast the fleet can go, not how fast aedes is.
 */
import { startPrivateMosquitto } from './private-mosquitto.ts';
import { openBenchLink } from './sim-client.ts';
import { benchDeviceId } from './sim-machines.ts';

export interface BenchBroker {
  name: string;
  url: string;
  /** Events the broker counted, or null when it cannot say. */
  received(): Promise<number | null>;
  stop(): Promise<void>;
}

const SEED_WINDOW = 500;

export async function startMosquittoChild(machines: number, prefix: string): Promise<BenchBroker> {
  const mosquitto = await startPrivateMosquitto();
  try {
    const seeder = await openBenchLink(mosquitto.url, `${prefix}-seeder`);
    const issuedAt = new Date().toISOString();
    for (let from = 0; from < machines; from += SEED_WINDOW) {
      await Promise.all(
        Array.from({ length: Math.min(SEED_WINDOW, machines - from) }, (_, k) => {
          const deviceId = benchDeviceId(prefix, from + k);
          const record = { deviceId, version: 1, issuedAt, categories: { usage: true, location: 'coarse', payment: true, diagnostics: true } };
          return new Promise<void>((resolve) =>
            seeder.link.publish(`coffee/v1/${deviceId}/consent`, JSON.stringify(record), { retain: true }, () => resolve()),
          );
        }),
      );
    }
    await seeder.close();
    return { name: 'mosquitto', url: mosquitto.url, received: () => Promise.resolve(null), stop: mosquitto.stop };
  } catch (error) {
    await mosquitto.stop();
    throw error;
  }
}
