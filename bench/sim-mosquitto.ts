/**
 * A private Mosquitto for bench/sim.ts, in its own process on a free port, seeded with a retained
 * all-categories consent record for every bench machine (compliant firmware publishes nothing
 * without one). Used when the question is how fast the fleet can go, not how fast aedes is.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, connect, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { openBenchLink } from './sim-client.ts';

export interface BenchBroker {
  name: string;
  url: string;
  /** Events the broker counted, or null when it cannot say. */
  received(): Promise<number | null>;
  stop(): Promise<void>;
}

const SEED_WINDOW = 500;

async function freePort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function waitForPort(port: number, deadlineMs: number): Promise<void> {
  const deadline = Date.now() + deadlineMs;
  for (;;) {
    const open = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (open) return;
    if (Date.now() > deadline) throw new Error(`mosquitto did not listen on ${port}`);
    await sleep(50);
  }
}

export async function startMosquittoChild(machines: number, prefix: string): Promise<BenchBroker> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'brewtel-bench-sim-mosquitto-'));
  // No persistence and no per-client queue cap, so nothing is dropped or written to disk.
  writeFileSync(join(dir, 'mosquitto.conf'), `listener ${port} 127.0.0.1\nallow_anonymous true\npersistence false\nmax_queued_messages 0\nlog_dest none\n`);
  const child = spawn('mosquitto', ['-c', join(dir, 'mosquitto.conf')], { stdio: ['ignore', 'ignore', 'inherit'] });
  const stop = async (): Promise<void> => {
    if (child.exitCode === null) {
      child.kill('SIGTERM');
      await Promise.race([once(child, 'exit'), sleep(5_000)]);
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitForPort(port, 10_000);
    const url = `mqtt://127.0.0.1:${port}`;
    const seeder = await openBenchLink(url, `${prefix}-seeder`);
    const issuedAt = new Date().toISOString();
    for (let from = 0; from < machines; from += SEED_WINDOW) {
      await Promise.all(
        Array.from({ length: Math.min(SEED_WINDOW, machines - from) }, (_, k) => {
          const deviceId = `${prefix}-${from + k}`;
          const record = { deviceId, version: 1, issuedAt, categories: { usage: true, location: 'coarse', payment: true, diagnostics: true } };
          return new Promise<void>((resolve) => seeder.link.publish(`coffee/v1/${deviceId}/consent`, JSON.stringify(record), true, () => resolve()));
        }),
      );
    }
    await seeder.close();
    return { name: 'mosquitto', url, received: () => Promise.resolve(null), stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
