/**
 * The `brewtel` entry point of the package: the embedded stack (broker, server, fleet) for other
 * projects' tests, on ephemeral ports on 127.0.0.1, with a fresh data folder that goes with stop().
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { z } from 'zod';
import { DEFAULT_REGIONS, regionListSchema } from '../schema/regions.ts';
import { DEFAULT_MQTT_VERSION, mqttVersionSchema } from '../firmware-sim/mqtt-version.ts';
import { launcherConfigSchema } from './config.ts';
import { startStack, type Stack } from './stack.ts';

export const harnessOptionsSchema = z.object({
  machines: z.int().min(0).max(100_000).default(10),
  regions: regionListSchema.default([...DEFAULT_REGIONS]),
  seed: z.int().default(1),
  mqttVersion: mqttVersionSchema.default(DEFAULT_MQTT_VERSION),
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('silent'),
});
export type HarnessOptions = z.input<typeof harnessOptionsSchema>;

export interface Harness extends AsyncDisposable {
  readonly mqttUrl: string;
  readonly httpUrl: string;
  readonly adminToken: string;
  stop(): Promise<void>;
}

export async function createHarness(options: HarnessOptions = {}): Promise<Harness> {
  const opts = harnessOptionsSchema.parse(options);
  const dataDir = await mkdtemp(join(tmpdir(), 'brewtel-harness-'));
  const logger = pino({ level: opts.logLevel });
  let stack: Stack;
  try {
    stack = await startStack(
      launcherConfigSchema.parse({
        machines: opts.machines, leaky: 0, regions: opts.regions, seed: opts.seed, mqttVersion: opts.mqttVersion,
        httpPort: 0, mqttPort: 0, wsPort: null, host: '127.0.0.1', dataDir, logLevel: opts.logLevel,
      }),
      logger,
    );
  } catch (error) {
    await rm(dataDir, { recursive: true, force: true });
    throw error;
  }
  let stopping: Promise<void> | null = null;
  const stop = (): Promise<void> => (stopping ??= stack.close().finally(() => rm(dataDir, { recursive: true, force: true })));
  return {
    mqttUrl: stack.broker.mqttUrl,
    httpUrl: stack.server.httpUrl,
    adminToken: stack.adminToken,
    stop,
    [Symbol.asyncDispose]: stop,
  };
}
