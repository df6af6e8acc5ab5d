import type { Logger } from 'pino';
import { planesResponseSchema, type PlaneStatus } from '../schema/directory.ts';
import { createFleet, type Fleet } from '../firmware-sim/fleet.ts';
import type { MachineIdentity } from '../firmware-sim/fleet-options.ts';
import { liveLine, RateMeter } from '../firmware-sim/live-progress.ts';
import { provisionMachines } from '../firmware-sim/provision.ts';
import type { LauncherConfig } from './config.ts';
import { ensureDemoOwners } from './demo-owners.ts';
import { startPlanes, type RunningPlanes } from './planes.ts';
import { statusLine, summary, type Counts, type Phase } from './status-line.ts';

/**
 * `brewtel start --planes`: the planes and the directory as processes (launcher/planes.ts), then the
 * demo fleet in this process, provisioned through the directory, each machine connecting to its
 * home plane; the demo owners are made at each home plane directly, never through another. Progress
 * and the summary read the planes' counts from the directory (counts only). Ctrl-C at any point
 * stops what runs and prints the summary.
 */
export async function runPlanes(config: LauncherConfig, env: NodeJS.ProcessEnv, logger: Logger, signal: AbortSignal): Promise<number> {
  const startedAt = performance.now();
  const line = liveLine(process.stdout);
  let running: RunningPlanes | null = null;
  let fleet: Fleet | null = null;
  let phase: Phase = { name: 'starting' };
  let planeCounts: PlaneStatus[] = [];
  const rate = new RateMeter();

  const counts = (): Counts => {
    const stats = fleet?.stats();
    const per = (key: 'stored' | 'refused') => Object.fromEntries(planeCounts.map((plane) => [plane.region, plane[key] ?? 0]));
    return {
      elapsedS: (performance.now() - startedAt) / 1000,
      published: stats?.published ?? 0,
      dropped: stats?.dropped ?? 0,
      stored: per('stored'),
      refused: per('refused'),
      machines: config.machines,
      connected: stats?.connected ?? 0,
      startedAt,
      allConnectedAt: stats?.allConnectedAt ?? null,
    };
  };
  const readPlanes = async (): Promise<void> => {
    if (running === null) return;
    const response = await fetch(`${running.directoryUrl}/api/v1/directory/planes`, { headers: { authorization: `Bearer ${running.adminToken}` } }).catch(
      () => null,
    );
    if (response?.ok) planeCounts = planesResponseSchema.parse(await response.json()).planes;
  };
  const ticker = setInterval(() => {
    void readPlanes();
    const now = counts();
    line.show(statusLine(now, config.regions, phase, rate.perSecond('done' in phase ? phase.done : now.connected)));
  }, 1000);

  try {
    running = await startPlanes(config, env, logger);
    line.end();
    printBanner(running, config);
    if (config.machines > 0 && !signal.aborted) {
      const planes = running;
      phase = { name: 'provisioning', done: 0, total: config.machines };
      const machines = await provisionMachines(
        {
          apiUrl: planes.directoryUrl,
          token: planes.adminToken,
          count: config.machines,
          regions: config.regions,
          seed: config.seed,
          leaky: config.leaky,
          throughDirectory: true,
        },
        (done) => {
          phase = { name: 'provisioning', done, total: config.machines };
        },
        signal,
      );
      phase = { name: 'owners', done: 0, total: machines.length };
      const owned = await ownersAtHome(machines, planes, (done) => (phase = { name: 'owners', done, total: machines.length }), signal);
      if (!signal.aborted) {
        fleet = createFleet(
          {
            ...config.fleet,
            machines: owned,
            seed: config.seed,
            speed: config.speed,
            mqttVersion: config.mqttVersion,
            connectRatePerS: config.connectRate,
            directory: { url: planes.directoryUrl, token: planes.lookupToken },
          },
          logger.child({ room: 'fleet' }),
        );
        phase = { name: 'fleet' };
      }
    }
    await untilAborted(signal, config.duration);
  } catch (error) {
    if (!signal.aborted) {
      clearInterval(ticker);
      line.end();
      console.error(`brewtel start --planes: ${error instanceof Error ? error.message : String(error)}`);
      await running?.stop();
      return 1;
    }
  }
  clearInterval(ticker);
  line.end();
  const reason: unknown = signal.reason;
  console.log(`stopping (${typeof reason === 'string' ? reason : `--duration ${config.duration}`}) ...`);
  const before = counts();
  await fleet?.stop();
  // Counts once the planes have stored what the fleet sent, before they go.
  await new Promise((resolve) => setTimeout(resolve, 500));
  await readPlanes();
  await running?.stop();
  console.log(summary({ ...counts(), connected: before.connected, allConnectedAt: before.allConnectedAt }, config.regions));
  return 0;
}

/** Resolves when `signal` aborts, or after `durationS` seconds when that is not 0. */
function untilAborted(signal: AbortSignal, durationS: number): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    signal.addEventListener('abort', () => resolve(), { once: true });
    if (durationS > 0) setTimeout(resolve, durationS * 1000).unref();
  });
}

/** Each region's machines get their owners at their own plane, one batch stream per plane. */
async function ownersAtHome(
  machines: MachineIdentity[],
  planes: RunningPlanes,
  onProgress: (done: number) => void,
  signal: AbortSignal,
): Promise<MachineIdentity[]> {
  let done = 0;
  const result: MachineIdentity[] = [];
  for (const plane of planes.planes) {
    const own = machines.filter((m) => m.region === plane.region);
    const stored = own.map((m) => ({ deviceId: m.deviceId, secret: m.secret, region: m.region, profile: m.profile ?? ('compliant' as const) }));
    await ensureDemoOwners(stored, plane.httpUrl, planes.adminToken, (n) => onProgress(done + n), signal);
    done += own.length;
    result.push(...own);
  }
  return result;
}

function printBanner(running: RunningPlanes, config: LauncherConfig): void {
  const lines = [
    'brewtel: one plane per region, each a process of its own, and the global directory',
    `  overview   ${running.directoryUrl}/   (the deployment: each plane's health and counts, the compliance report; links to each plane's dashboard)`,
    `  directory  ${running.directoryUrl}/api/v1/directory   (planes: ${running.directoryUrl}/api/v1/directory/planes)`,
    ...running.planes.map((plane) => `  plane ${plane.region.padEnd(4)} dashboard ${plane.httpUrl}/   MQTT ${plane.mqttUrl}`),
    `  stores     ${config.dataDir}/planes/<region>/ (each plane its own)`,
    config.adminToken
      ? '  admin      token from BREWTEL_ADMIN_TOKEN (every plane and the directory)'
      : `  admin      token ${running.adminToken}   (generated; every plane and the directory)`,
    `  fleet      ${config.machines} machines over ${config.regions.join(', ')} (${config.leaky} leaky), each connecting to its home plane`,
    config.duration > 0 ? `Running for ${config.duration} s.` : 'Press Ctrl-C to stop.',
  ];
  console.log(lines.join('\n'));
}
