/**
 * `npx tsx bench/cluster-retained-lookup.ts [--retained N] [--logins K]`: the cost of one device
 * login's retained lookup in cluster mode, with and without the topic index
 * (broker/redis-retained-lookup.ts). N retained consent messages (default 20,000, one per device as
 * the server keeps them) under a key prefix of this run in the real Redis; then K logins (default
 * 200), one after another, each CONNECT + SUBSCRIBE `coffee/v1/{id}/cmd/#` and
 * `coffee/v1/{id}/consent` until its consent has arrived and the node's retained lookup has ended
 * (the plain library sends the exact topic's message first and scans on), first against a node on the plain
 * aedes-persistence-redis 12, then against one with the index. Per login: milliseconds (median,
 * p99) and the Redis commands its node sent (HSCAN among them). Bounded: K logins per node, every
 * key of the run deleted at the end. Last line: key=value summary.
 */
import { randomBytes } from 'node:crypto';
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import mqtt from 'mqtt';
import { REDIS_URL } from '../test/support/redis.ts';
import { waitUntil } from '../test/support/wait.ts';
import { startRetainedNode } from '../test/broker/redis-retained-node.ts';

const { values } = parseArgs({ options: { retained: { type: 'string', default: '20000' }, logins: { type: 'string', default: '200' } } });
const RETAINED = Number(values.retained);
const LOGINS = Number(values.logins);
if (!Number.isInteger(RETAINED) || RETAINED < 1 || !Number.isInteger(LOGINS) || LOGINS < 1 || LOGINS > RETAINED)
  throw new Error('--retained and --logins: whole numbers, logins at most retained');

const prefix = `brewtel-bench-${randomBytes(6).toString('hex')}:`;
const quantile = (sorted: number[], q: number): number => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;

async function logins(indexed: boolean): Promise<{ medianMs: number; p99Ms: number; commands: number; hscans: number }> {
  const node = await startRetainedNode(prefix, indexed);
  try {
    const times: number[] = [];
    const before = node.commands.length;
    for (let i = 0; i < LOGINS; i++) {
      // Spread over the fleet: the scan's cost does not depend on where in the hash a topic is.
      const id = `dev-${Math.floor((i * RETAINED) / LOGINS)}`;
      const started = performance.now();
      const client = await mqtt.connectAsync(node.url, { reconnectPeriod: 0, protocolVersion: 5, clientId: id });
      const consent = new Promise<void>((resolve) => client.once('message', () => resolve()));
      const done = node.lookupsDone();
      await client.subscribeAsync([`coffee/v1/${id}/cmd/#`, `coffee/v1/${id}/consent`], { qos: 1 });
      await consent;
      // Until the node's lookup has ended: the plain library sends the consent first and scans on.
      await waitUntil('the retained lookup to end', () => node.lookupsDone() > done, 60_000, 1);
      times.push(performance.now() - started);
      await client.endAsync();
    }
    const sent = node.commands.slice(before);
    times.sort((a, b) => a - b);
    return {
      medianMs: quantile(times, 0.5),
      p99Ms: quantile(times, 0.99),
      commands: sent.length / LOGINS,
      hscans: sent.filter((c) => c === 'hscan').length / LOGINS,
    };
  } finally {
    await node.close();
  }
}

const loadStart = loadavg()[0]!.toFixed(2);
const cleanup = new Redis(REDIS_URL);
try {
  // Seeded through the index's own store (hash and index alike), the way a cluster node keeps them.
  const seeder = await startRetainedNode(prefix, true);
  for (let i = 0; i < RETAINED; i += 1_000) {
    const batch = Array.from({ length: Math.min(1_000, RETAINED - i) }, (_, j) => ({
      cmd: 'publish',
      topic: `coffee/v1/dev-${i + j}/consent`,
      payload: Buffer.from(JSON.stringify({ version: 1, usage: true, location: 'coarse', payment: false, diagnostics: true })),
      qos: 1,
      retain: true,
      dup: false,
    }));
    await Promise.all(batch.map((packet) => seeder.persistence.storeRetained(packet)));
  }
  await seeder.close();
  const plain = await logins(false);
  const indexed = await logins(true);
  const rows = [
    ['plain aedes-persistence-redis 12', plain],
    ['with the topic index', indexed],
  ] as const;
  process.stderr.write(
    `retained=${RETAINED} logins=${LOGINS} (one at a time)\n| node | ms per login (median / p99) | Redis commands per login | HSCAN per login |\n| --- | --- | --- | --- |\n`,
  );
  for (const [name, r] of rows)
    process.stderr.write(`| ${name} | ${r.medianMs.toFixed(2)} / ${r.p99Ms.toFixed(2)} | ${r.commands.toFixed(1)} | ${r.hscans.toFixed(1)} |\n`);
  process.stdout.write(
    `retained=${RETAINED} logins=${LOGINS} plain_ms=${plain.medianMs.toFixed(2)} plain_p99_ms=${plain.p99Ms.toFixed(2)} plain_hscans=${plain.hscans.toFixed(1)} ` +
      `indexed_ms=${indexed.medianMs.toFixed(2)} indexed_p99_ms=${indexed.p99Ms.toFixed(2)} indexed_hscans=${indexed.hscans.toFixed(1)} ` +
      `speedup=${(plain.medianMs / indexed.medianMs).toFixed(1)} load_1m_start=${loadStart} load_1m_end=${loadavg()[0]!.toFixed(2)}\n`,
  );
} finally {
  for await (const keys of cleanup.scanStream({ match: `${prefix}*`, count: 1_000 }) as AsyncIterable<string[]>)
    if (keys.length > 0) await cleanup.del(...keys);
  cleanup.disconnect();
}
