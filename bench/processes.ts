/**
 * `npm run bench:processes [-- --machines N] [--processes P] [--broker-nodes B] [--seconds S] [--speed X] [--skip-single]`:
 * the same fleet of N machines (default 4,000) run by one simulator process against one broker node,
 * then by P simulator processes (default 2, `npm run sim -- --slice K/P`) against a B-node cluster of
 * our broker (default 2, Redis), each time with authentication on and one server (its own process:
 * API, registry, ingest on SQLite, ingest logged in to the first node). Each case starts fresh: the
 * slices provision their machines through the server's API, connect, run S seconds (default 20) at
 * speed X (default 600, ten simulated minutes a second: a few events per machine and ten seconds;
 * the simulator's own default is 60; at 3600 one process falls far behind), then stop with SIGINT. Measured per case:
 * - ready_s: from starting the simulators until every machine is connected (process start,
 *   provisioning, connecting); connect_s: from the first slice done provisioning until then;
 * - stored_eps: events committed by the server per second over the S seconds after that (or after
 *   the connect deadline, with whatever connected); published_eps: acknowledged by the broker;
 * - RSS peaks per process: each simulator, each broker node, the server (sampled every second).
 * - with a cluster: Redis' CPU share, PUBLISH count and cost, costliest commands, NUMPAT and the
 *   cluster's channels, and each node's pub/sub drop and loss counters (bench/processes-redis.ts).
 * Progress every second on stderr; the last line on stdout, Ctrl-C included:
 *   machines=… processes=… broker_nodes=… single_ready_s=… multi_ready_s=… single_stored_eps=… multi_stored_eps=… …
 * The load average at start and end goes into the summary: on a shared machine the figures mean
 * little without it.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { liveLine, RateMeter } from '../firmware-sim/live-progress.ts';
import { startProcessStack, storedEvents, type ProcessStack } from './process-stack.ts';
import { watchCluster, type ClusterWatch } from './processes-redis.ts';
import { openFileLimit, RssTracker } from './process-rss.ts';
import { compileSimCli, SimSlice } from './sim-processes.ts';
import { runBench, writeSummaryLine } from './summary-line.ts';

const { values } = parseArgs({
  options: {
    machines: { type: 'string', default: '4000' },
    processes: { type: 'string', default: '2' },
    'broker-nodes': { type: 'string', default: '2' },
    seconds: { type: 'string', default: '20' },
    speed: { type: 'string', default: '600' },
    'connect-deadline-s': { type: 'string', default: '180' },
    'skip-single': { type: 'boolean', default: false },
  },
});
const intFlag = (name: keyof typeof values, min: number, max: number): number => {
  const n = Number(values[name]);
  if (!Number.isInteger(n) || n < min || n > max) throw new Error(`--${name}: a whole number from ${min} to ${max}`);
  return n;
};
const MACHINES = intFlag('machines', 1, 1_000_000);
const PROCESSES = intFlag('processes', 1, 64);
const BROKER_NODES = intFlag('broker-nodes', 1, 16);
const SECONDS = intFlag('seconds', 1, 3600);
const CONNECT_DEADLINE_MS = intFlag('connect-deadline-s', 1, 3600) * 1000;
const SPEED = Number(values.speed);
if (!(SPEED > 0)) throw new Error('--speed: a number above 0');
if (PROCESSES > MACHINES) throw new Error('--processes: at most --machines');

const progress = liveLine(process.stderr);
const interrupt = new AbortController();
// SIGTERM too: `npm run` passes a terminal's Ctrl-C on to its script as SIGTERM.
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    if (interrupt.signal.aborted) return;
    progress.end();
    process.stderr.write(`processes: stopping (${signal === 'SIGINT' ? 'Ctrl-C' : signal}), summary of what was measured so far follows\n`);
    interrupt.abort();
  });
}
const sleep = (ms: number): Promise<void> => new Promise((done) => setTimeout(done, ms));
const mb = (n: number): string => n.toFixed(0);
const load = (): string => loadavg()[0]!.toFixed(2);

interface Case {
  name: 'single' | 'multi';
  sims: number;
  nodes: number;
}

const results: Record<string, string> = {
  machines: String(MACHINES),
  processes: String(PROCESSES),
  broker_nodes: String(BROKER_NODES),
  speed: String(SPEED),
  load_1m_start: load(),
};

/** Descriptors a process needs besides its MQTT connections (Redis, HTTP, files, stdio). */
const FD_HEADROOM = 200;

/** Where a process ran out of a per-process resource first: the open-file limit (one descriptor per connection). */
function warnAboutLimits(c: Case): void {
  const limit = openFileLimit();
  const perSim = Math.ceil(MACHINES / c.sims);
  const perNode = Math.ceil(MACHINES / c.nodes) + 1;
  if (limit !== null && Math.max(perSim, perNode) > limit - FD_HEADROOM) {
    process.stderr.write(
      `processes: ${c.name}: up to ${perSim} connections per simulator and ${perNode} per broker node, open-file limit ${limit} per process: each node accepts at most ${connectionCap()}, a simulator opens at most about ${limit - FD_HEADROOM}\n`,
    );
  }
}

/**
 * Each node's `--max-connections`: the whole fleet, but below the open-file limit, so a node that
 * runs out refuses cleanly (CONNACK 0x89, server busy) instead of failing accept() with EMFILE.
 */
function connectionCap(): number {
  const limit = openFileLimit();
  return limit === null ? MACHINES + 100 : Math.min(MACHINES + 100, limit - FD_HEADROOM);
}

async function runCase(c: Case): Promise<void> {
  const key = (k: string): string => `${c.name}_${k}`;
  warnAboutLimits(c);
  const dir = mkdtempSync(join(tmpdir(), `brewtel-processes-${c.name}-`));
  let stack: ProcessStack | null = null;
  let sims: SimSlice[] = [];
  const trackers: RssTracker[] = [];
  const notes: string[] = [];
  let clusterWatch: ClusterWatch | null = null;
  try {
    progress.show(`${c.name}: starting the server and ${c.nodes} broker node${c.nodes > 1 ? 's (cluster, Redis)' : ''}`);
    stack = await startProcessStack({ dataDir: dir, brokerNodes: c.nodes, maxConnectionsPerNode: connectionCap() });
    const s = stack;
    if (s.redisPrefix !== null) clusterWatch = await watchCluster(s.redisPrefix, s.metricsUrls);
    const entry = await compileSimCli();
    const started = performance.now();
    sims = Array.from(
      { length: c.sims },
      (_, k) =>
        new SimSlice({
          entry,
          slice: { index: k + 1, of: c.sims },
          machines: MACHINES,
          brokerUrl: s.brokerUrls[k % s.brokerUrls.length]!,
          apiUrl: s.server.httpUrl,
          adminToken: s.adminToken,
          seed: 1,
          speed: SPEED,
        }),
    );
    trackers.push(...sims.map((sim, k) => new RssTracker(`sim${k + 1}`, () => sim.pid)));
    trackers.push(...s.brokers.map((b, n) => new RssTracker(`broker${n + 1}`, () => b.pid)));
    trackers.push(new RssTracker('server', () => s.server.pid));
    const exitedEarly = new Set<SimSlice>();
    const connectRate = new RateMeter();
    const storeRate = new RateMeter();
    let stored = 0;
    const tick = async (phase: string): Promise<void> => {
      for (const t of trackers) t.sample();
      stored = (await storedEvents(s.server)) ?? stored;
      for (const sim of sims) {
        if (!sim.running && !exitedEarly.has(sim)) {
          exitedEarly.add(sim);
          notes.push(`sim${sims.indexOf(sim) + 1} exited early: ${sim.lastWords}`);
          process.stderr.write(`processes: ${c.name}: ${notes.at(-1)}\n`);
        }
      }
      const connected = sims.reduce((n, sim) => n + sim.connected, 0);
      const published = sims.reduce((n, sim) => n + sim.published, 0);
      const rss = (prefix: string): string =>
        trackers
          .filter((t) => t.name.startsWith(prefix))
          .map((t) => mb(t.lastMb))
          .join('+');
      progress.show(
        `${c.name} ${phase}: connected ${connected}/${MACHINES} (${connectRate.perSecond(connected).toFixed(0)}/s) published ${published} stored ${stored} (${storeRate.perSecond(stored).toFixed(0)}/s) rss MB sims ${rss('sim')} brokers ${rss('broker')} server ${rss('server')} load ${load()}`,
      );
    };

    const allConnected = (): boolean => sims.every((sim) => sim.allConnectedAt !== null);
    const deadline = started + CONNECT_DEADLINE_MS;
    while (!allConnected() && !interrupt.signal.aborted && performance.now() < deadline && sims.some((sim) => sim.running)) {
      await tick('connecting');
      await sleep(1000);
    }
    const connectedNow = sims.reduce((n, sim) => n + sim.connected, 0);
    results[key('connected')] = String(connectedNow);
    if (allConnected()) {
      const lastAt = Math.max(...sims.map((sim) => sim.allConnectedAt!));
      const firstConnecting = Math.min(...sims.map((sim) => sim.connectingSince!));
      results[key('ready_s')] = ((lastAt - started) / 1000).toFixed(1);
      results[key('connect_s')] = ((lastAt - firstConnecting) / 1000).toFixed(1);
    } else {
      results[key('ready_s')] = '-';
      results[key('connect_s')] = '-';
      if (!interrupt.signal.aborted) notes.push(`${connectedNow} of ${MACHINES} connected at the connect deadline`);
    }
    progress.end();
    process.stderr.write(`processes: ${c.name}: ${connectedNow}/${MACHINES} connected after ${((performance.now() - started) / 1000).toFixed(1)} s\n`);

    if (!interrupt.signal.aborted) {
      const storedBefore = (await storedEvents(s.server)) ?? stored;
      const publishedBefore = sims.reduce((n, sim) => n + sim.published, 0);
      const windowStart = performance.now();
      while (!interrupt.signal.aborted && performance.now() - windowStart < SECONDS * 1000) {
        await tick('measuring');
        await sleep(1000);
      }
      const seconds = (performance.now() - windowStart) / 1000;
      const storedAfter = (await storedEvents(s.server)) ?? stored;
      const publishedAfter = sims.reduce((n, sim) => n + sim.published, 0);
      results[key('stored_eps')] = ((storedAfter - storedBefore) / seconds).toFixed(0);
      results[key('published_eps')] = ((publishedAfter - publishedBefore) / seconds).toFixed(0);
      progress.end();
    }
  } finally {
    progress.end();
    for (const t of trackers) t.sample();
    const summaries = await Promise.all(sims.map((sim) => sim.stop()));
    if (summaries.length > 0) {
      const sum = (k: string): number => summaries.reduce((n, s) => n + Number(s[k] ?? 0), 0);
      results[key('dropped')] = String(sum('dropped'));
      results[key('refused')] = String(sum('refused'));
      // Which refusals, by packet and reason code (connack_0x89: a node busy or full), summed over the slices.
      const codes = [...new Set(summaries.flatMap((s) => Object.keys(s).filter((k) => /^(connack|puback|disconnect)_0x/.test(k))))].sort();
      for (const code of codes) results[key(code)] = String(sum(code));
    }
    if (clusterWatch !== null) for (const [k, v] of Object.entries(await clusterWatch.finish().catch(() => ({})))) results[key(k)] = v;
    await stack?.stop().catch((error: unknown) => process.stderr.write(`processes: ${String(error)}\n`));
    rmSync(dir, { recursive: true, force: true });
    const peaks = (prefix: string): number[] => trackers.filter((t) => t.name.startsWith(prefix)).map((t) => t.peakMb);
    if (trackers.length > 0) {
      results[key('sim_rss_mb')] = peaks('sim').map(mb).join('/');
      results[key('broker_rss_mb')] = peaks('broker').map(mb).join('/');
      results[key('server_rss_mb')] = mb(Math.max(0, ...peaks('server')));
      results[key('total_rss_mb')] = mb(trackers.reduce((n, t) => n + t.peakMb, 0));
    }
    process.stderr.write(
      `processes: ${c.name}: ${c.sims} simulator process${c.sims > 1 ? 'es' : ''}, ${c.nodes} broker node${c.nodes > 1 ? 's' : ''}: ${Object.entries(results)
        .filter(([k]) => k.startsWith(`${c.name}_`))
        .map(([k, v]) => `${k.slice(c.name.length + 1)}=${v}`)
        .join(' ')}${notes.length > 0 ? `; ${notes.join('; ')}` : ''}\n`,
    );
  }
}

async function main(): Promise<void> {
  const started = performance.now();
  try {
    const cases: Case[] = [
      ...(values['skip-single'] ? [] : [{ name: 'single' as const, sims: 1, nodes: 1 }]),
      { name: 'multi', sims: PROCESSES, nodes: BROKER_NODES },
    ];
    for (const c of cases) {
      if (interrupt.signal.aborted) break;
      await runCase(c);
    }
    const single = Number(results.single_stored_eps);
    const multi = Number(results.multi_stored_eps);
    if (single > 0 && Number.isFinite(multi)) results.eps_ratio = (multi / single).toFixed(2);
  } finally {
    results.load_1m_end = load();
    results.seconds = ((performance.now() - started) / 1000).toFixed(0);
    writeSummaryLine(results);
  }
}

runBench('processes', main);
